"""Served lists: for you, similar, bought together."""

from django.urls import path

from . import lists

urlpatterns = [
    path(
        "me/recommendations/",
        lists.MyRecommendationsView.as_view(),
        name="api-my-recommendations",
    ),
    path(
        "customers/<int:pk>/recommendations/",
        lists.CustomerRecommendationsView.as_view(),
        name="api-customer-recommendations",
    ),
    path(
        "products/<str:sku>/similar/",
        lists.SimilarProductsView.as_view(),
        name="api-product-similar",
    ),
    path(
        "products/<str:sku>/bought-together/",
        lists.BoughtTogetherView.as_view(),
        name="api-product-bought-together",
    ),
]
