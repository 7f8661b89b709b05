"""Catalogue API routes."""

from django.urls import path, re_path

from . import views

urlpatterns = [
    path("products/", views.ProductListView.as_view(), name="api-product-list"),
    path(
        "products/<str:sku>/",
        views.ProductDetailView.as_view(),
        name="api-product-detail",
    ),
    path(
        "products/<str:sku>/images/",
        views.ProductImageUploadView.as_view(),
        name="api-product-image-upload",
    ),
    path(
        "products/<str:sku>/visually-similar/",
        views.VisuallySimilarProductsView.as_view(),
        name="api-product-visually-similar",
    ),
    # Both with and without the trailing slash: a POST cannot be redirected to it.
    re_path(
        r"^products/(?P<sku>[^/]+)/category/accept/?$",
        views.ProductCategoryAcceptView.as_view(),
        name="api-product-category-accept",
    ),
    re_path(
        r"^products/(?P<sku>[^/]+)/category/override/?$",
        views.ProductCategoryOverrideView.as_view(),
        name="api-product-category-override",
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
