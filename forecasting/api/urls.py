"""Forecast routes under /api/v1/."""

from django.urls import path

from . import views

urlpatterns = [
    path(
        "products/<str:sku>/forecast/",
        views.ProductForecastView.as_view(),
        name="api-product-forecast",
    ),
    path(
        "products/<str:sku>/what-if/",
        views.WhatIfView.as_view(),
        name="api-product-what-if",
    ),
]
