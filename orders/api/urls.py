"""Order API routes."""

from django.urls import path

from . import views

urlpatterns = [
    path("orders/", views.OrderListView.as_view(), name="api-order-list"),
    path(
        "orders/<str:number>/",
        views.OrderDetailView.as_view(),
        name="api-order-detail",
    ),
]
