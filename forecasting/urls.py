"""Staff pages of the forecasts, under /forecasts/."""

from django.urls import path

from . import views

app_name = "forecasting"

urlpatterns = [
    path("stockouts/", views.upcoming_stockouts, name="stockouts"),
    # path: SKUs imported from other systems may hold a slash
    path("products/<path:sku>/", views.product_forecast, name="product"),
]
