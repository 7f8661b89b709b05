"""Catalogue API routes."""

from django.urls import path

from . import views

urlpatterns = [
    path("products/", views.ProductListView.as_view(), name="api-product-list"),
    path(
        "products/<str:sku>/",
        views.ProductDetailView.as_view(),
        name="api-product-detail",
    ),
    path("categories/", views.CategoryListView.as_view(), name="api-category-list"),
    path(
        "categories/tree/",
        views.CategoryTreeView.as_view(),
        name="api-category-tree",
    ),
    path(
        "categories/<int:pk>/",
        views.CategoryDetailView.as_view(),
        name="api-category-detail",
    ),
]
