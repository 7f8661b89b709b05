"""Account API routes."""

from django.urls import path

from . import views

urlpatterns = [
    path("me/", views.MeView.as_view(), name="api-me"),
    path("auth/token/", views.TokenObtainView.as_view(), name="api-token-obtain"),
    path(
        "auth/token/revoke/",
        views.TokenRevokeView.as_view(),
        name="api-token-revoke",
    ),
    path(
        "customers/<int:pk>/erase/",
        views.CustomerEraseView.as_view(),
        name="api-customer-erase",
    ),
]
