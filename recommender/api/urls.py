"""Recommendation and customer-analysis routes under /api/v1/."""

from django.urls import include, path

urlpatterns = [
    path("", include("recommender.api.list_urls")),
    path("", include("recommender.api.segment_urls")),
]
