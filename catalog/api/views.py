"""Catalogue endpoints: public reads of products and the category tree."""

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter, OpenApiTypes, extend_schema
from rest_framework import generics
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request
from rest_framework.response import Response

from catalog.filters import ProductFilter
from catalog.selectors import category_list, category_tree, product_catalogue

from .serializers import (
    CategoryNodeSerializer,
    CategorySerializer,
    ProductSerializer,
    StaffProductSerializer,
)

STAFF_NOTE = "Staff also see inactive products and the stock figures."


class ReadOnlyOrStaff(BasePermission):
    """Let anyone read; only staff may do anything else."""

    def has_permission(self, request, view) -> bool:
        if request.method in SAFE_METHODS:
            return True
        return bool(request.user and request.user.is_staff)


class PublicReadSchema(AutoSchema):
    """Document safe methods of ReadOnlyOrStaff views as open to anonymous callers."""

    def get_auth(self):
        auths = super().get_auth()
        if self.method in SAFE_METHODS and {} not in auths:
            auths.append({})
        return auths


class ProductViewMixin:
    permission_classes = [ReadOnlyOrStaff]
    schema = PublicReadSchema()

    def get_queryset(self):
        return product_catalogue(include_inactive=self.request.user.is_staff)

    def get_serializer_class(self):
        if self.request.user.is_staff:
            return StaffProductSerializer
        return ProductSerializer


@extend_schema(
    tags=["catalogue"],
    summary="List products",
    description=f"Public. Active products only. {STAFF_NOTE}",
    responses=ProductSerializer(many=True),
)
class ProductListView(ProductViewMixin, generics.ListAPIView):
    filterset_class = ProductFilter
    search_fields = ["sku", "name", "description"]
    ordering_fields = ["price", "name", "created_at"]
    ordering = ["sku"]


@extend_schema(
    tags=["catalogue"],
    summary="Get a product by SKU",
    description=f"Public. Inactive products are not found. {STAFF_NOTE}",
    parameters=[OpenApiParameter("sku", OpenApiTypes.STR, OpenApiParameter.PATH)],
    responses=ProductSerializer,
)
class ProductDetailView(ProductViewMixin, generics.RetrieveAPIView):
    lookup_field = "sku"


@extend_schema(
    tags=["catalogue"],
    summary="List categories (flat)",
    description="Public. Flat, in path order, with parent ids; see /categories/tree/.",
)
class CategoryListView(generics.ListAPIView):
    permission_classes = [ReadOnlyOrStaff]
    schema = PublicReadSchema()
    serializer_class = CategorySerializer
    filter_backends: list = []

    def get_queryset(self):
        return category_list()


@extend_schema(tags=["catalogue"], summary="Get a category")
class CategoryDetailView(generics.RetrieveAPIView):
    permission_classes = [ReadOnlyOrStaff]
    schema = PublicReadSchema()
    serializer_class = CategorySerializer

    def get_queryset(self):
        return category_list()


class CategoryTreeView(generics.GenericAPIView):
    permission_classes = [ReadOnlyOrStaff]
    schema = PublicReadSchema()
    serializer_class = CategoryNodeSerializer
    pagination_class = None
    filter_backends: list = []

    @extend_schema(
        tags=["catalogue"],
        summary="The whole category tree",
        description="Public. Root categories with their `children`, recursively; "
        "not paginated.",
        responses=CategoryNodeSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        serializer = self.get_serializer(category_tree(), many=True)
        return Response(serializer.data)
