"""Catalogue endpoints: public reads of products and the category tree, and the
staff's review of automatic categories."""

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.shortcuts import get_object_or_404
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter, OpenApiTypes, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.categorisation import review_accept, review_override
from catalog.filters import ProductFilter
from catalog.models import Product
from catalog.selectors import (
    category_list,
    category_tree,
    product_catalogue,
    visually_similar_products,
)
from catalog.services import product_image_add
from catalog.tasks import classify_products_on_commit
from ecomsite.permissions import staff_with
from recommender.api.lists import ProductListView as ServedProductListView
from recommender.api.lists import ServedItemSerializer

from .serializers import (
    CategoryNodeSerializer,
    CategoryOverrideSerializer,
    CategorySerializer,
    ImageUploadSerializer,
    ProductImageSerializer,
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


def products_with_categories(*, include_inactive: bool):
    """Return the catalogue with the automatic category joined too."""
    return product_catalogue(include_inactive=include_inactive).select_related(
        "auto_category", "auto_category_version"
    )


class ProductViewMixin:
    permission_classes = [ReadOnlyOrStaff]
    schema = PublicReadSchema()

    def get_queryset(self):
        return products_with_categories(include_inactive=self.request.user.is_staff)

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


# --- Category review (staff) ---------------------------------------------------

SKU = OpenApiParameter("sku", OpenApiTypes.STR, OpenApiParameter.PATH)
REVIEW_RESPONSES = {
    200: StaffProductSerializer,
    400: OpenApiTypes.OBJECT,
    401: OpenApiTypes.OBJECT,
    403: OpenApiTypes.OBJECT,
    404: OpenApiTypes.OBJECT,
}


class CanReviewCategories(BasePermission):
    """Staff who may review automatic categories (or change products)."""

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(
            user
            and user.is_staff
            and (
                user.has_perm("catalog.review_category")
                or user.has_perm("catalog.change_product")
            )
        )


class CategoryReviewView(APIView):
    permission_classes = [CanReviewCategories]

    def decide(self, request: Request, sku: str, decide) -> Response:
        product = get_object_or_404(Product, sku=sku)
        try:
            decide(product)
        except DjangoValidationError as exc:
            raise serializers.ValidationError({"category": exc.messages}) from exc
        product = products_with_categories(include_inactive=True).get(pk=product.pk)
        return Response(
            StaffProductSerializer(product, context={"request": request}).data
        )


class ProductCategoryAcceptView(CategoryReviewView):
    """Confirm the model's suggested category as the product's category."""

    @extend_schema(
        tags=["catalogue"],
        summary="Accept the automatic category (staff)",
        description="Staff who may review categories. The model's top suggestion "
        "becomes the product's category, set by an operator (never overwritten by "
        "the model again); the decision is recorded. 400 when the model has made no "
        "suggestion; 404 for an unknown SKU.",
        parameters=[SKU],
        request=None,
        responses=REVIEW_RESPONSES,
    )
    def post(self, request: Request, sku: str) -> Response:
        return self.decide(
            request,
            sku,
            lambda product: review_accept(product=product, user=request.user),
        )


class ProductCategoryOverrideView(CategoryReviewView):
    """Set another category than the model's, as an operator."""

    @extend_schema(
        tags=["catalogue"],
        summary="Override the automatic category (staff)",
        description='Staff who may review categories. Body `{"category": id or '
        "path}`; the category becomes the product's, set by an operator, and the "
        "decision is recorded. 400 names a missing or unknown category; 404 for an "
        "unknown SKU.",
        parameters=[SKU],
        request=CategoryOverrideSerializer,
        responses=REVIEW_RESPONSES,
    )
    def post(self, request: Request, sku: str) -> Response:
        body = CategoryOverrideSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        category = body.validated_data["category"]
        return self.decide(
            request,
            sku,
            lambda product: review_override(
                product=product, category=category, user=request.user
            ),
        )


class VisuallySimilarProductsView(ServedProductListView):
    """Products whose pictures look like this one's, from the image model."""

    select = staticmethod(visually_similar_products)

    @extend_schema(
        tags=["catalogue"],
        summary="Visually similar products",
        description="Public. Up to 20 products nearest to this one by the image "
        "model's picture embeddings (cosine as the score). Inactive, out-of-stock "
        "and excluded products are left out; ranks stay contiguous. Empty until "
        "the product's picture has been read by an image model. 404 for an "
        "unknown or inactive SKU.",
        parameters=[SKU],
        responses=ServedItemSerializer(many=True),
    )
    def get(self, request: Request, sku: str) -> Response:
        return super().get(request, sku)


class ProductImageUploadView(APIView):
    """Add a picture to a product: validated, re-encoded, thumbnailed, classified."""

    permission_classes = [
        staff_with("catalog.add_productimage", "Staff who may add product images.")
    ]
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        tags=["catalogue"],
        summary="Upload a product image (staff)",
        description="Staff who may add product images. Multipart field `image`; the "
        "file is checked (format allow-list, size and pixel limits, decompression "
        "bombs, truncated files), turned upright by its EXIF tag, stripped of "
        "metadata and re-encoded, and the product is classified once the upload is "
        "saved. 201 with the image, 200 when the same picture is already there, 400 "
        "saying what is wrong with the file; 404 for an unknown SKU.",
        parameters=[SKU],
        request={"multipart/form-data": ImageUploadSerializer},
        responses={201: ProductImageSerializer, 200: ProductImageSerializer},
    )
    def post(self, request: Request, sku: str) -> Response:
        product = get_object_or_404(Product, sku=sku)
        body = ImageUploadSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        upload = body.validated_data["image"]
        raw = upload.read(settings.IMAGE_MAX_BYTES + 1)  # the check says "too large"
        try:
            with transaction.atomic():
                added = product_image_add(
                    product=product,
                    raw=raw,
                    alt_text=body.validated_data.get("alt_text", ""),
                    position=body.validated_data.get("position"),
                )
                if added.created:
                    classify_products_on_commit([product.pk])
        except DjangoValidationError as exc:
            raise serializers.ValidationError({"image": exc.messages}) from exc
        return Response(
            ProductImageSerializer(added.image, context={"request": request}).data,
            status=status.HTTP_201_CREATED if added.created else status.HTTP_200_OK,
        )
