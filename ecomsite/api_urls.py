"""Every app's API routes under /api/v1/."""

from django.urls import include, path

urlpatterns = [
    path("", include("catalog.api.urls")),
    path("", include("orders.api.urls")),
    path("", include("accounts.api.urls")),
    path("", include("recommender.api.urls")),
    path("", include("forecasting.api.urls")),
]
