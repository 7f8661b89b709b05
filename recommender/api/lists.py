"""Served lists: a customer's "for you", a product's similar and bought-together."""

from django.contrib.auth import get_user_model
from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.models import Product, ProductImage
from ecomsite.permissions import staff_with
from recommender import served_rows
from recommender.selectors import (
    ServedItem,
    bought_together,
    recommendations_for,
    similar_products,
)

# --- Serializers -------------------------------------------------------------------


class RecommendedProductSerializer(serializers.Serializer):
    """What a shop front needs to show a recommended product."""

    sku = serializers.CharField()
    name = serializers.CharField()
    price = serializers.DecimalField(max_digits=12, decimal_places=2)
    currency = serializers.CharField()
    category_path = serializers.SerializerMethodField()
    thumbnail_url = serializers.SerializerMethodField()

    @extend_schema_field({"type": "string", "nullable": True})
    def get_category_path(self, product: Product) -> str | None:
        return product.category.path if product.category_id else None

    @extend_schema_field({"type": "string", "format": "uri", "nullable": True})
    def get_thumbnail_url(self, product: Product) -> str | None:
        name = self.context.get("image_names", {}).get(product.pk)
        if not name:
            return None
        url = ProductImage._meta.get_field("thumbnail").storage.url(name)
        request = self.context.get("request")
        return request.build_absolute_uri(url) if request else url


class ServedItemSerializer(serializers.Serializer):
    """One entry of a served list, as customers see it."""

    rank = serializers.IntegerField(help_text="1 = first; contiguous after filters.")
    score = serializers.FloatField(
        allow_null=True, help_text="The model's score; empty for pinned products."
    )
    reason = serializers.CharField(help_text='E.g. "Because you bought …".')
    product = RecommendedProductSerializer()

    def to_representation(self, item: ServedItem) -> dict:
        """The declared fields, built directly: DRF's generic walk over the nested
        fields cost more than the database read of the whole list."""
        shown = self.fields["product"]
        product = item.product
        return {
            "rank": item.rank,
            "score": None if item.score is None else float(item.score),
            "reason": item.reason,
            "product": {
                "sku": product.sku,
                "name": product.name,
                "price": shown.fields["price"].to_representation(product.price),
                "currency": product.currency,
                "category_path": shown.get_category_path(product),
                "thumbnail_url": shown.get_thumbnail_url(product),
            },
        }


def served_list_response(request: Request, items: list[ServedItem]) -> Response:
    context = {
        "request": request,
        "image_names": {item.product.pk: item.image_name for item in items},
    }
    return Response(ServedItemSerializer(items, many=True, context=context).data)


# --- Views -------------------------------------------------------------------------

LIST_NOTE = (
    "Up to 20 entries from the active served batch. Inactive, out-of-stock and "
    "excluded products are left out; ranks stay contiguous. Not paginated."
)
SKU = OpenApiParameter("sku", OpenApiTypes.STR, OpenApiParameter.PATH)


class MyRecommendationsView(APIView):
    """The signed-in customer's "recommended for you" list."""

    @extend_schema(
        tags=["recommendations"],
        summary="My recommendations",
        description=f"{LIST_NOTE} Products already bought are left out unless the "
        "shop is set for repeat purchase; products pinned by the shop take their "
        "positions.",
        responses=ServedItemSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        return served_list_response(request, recommendations_for(request.user))


CanViewRecommendations = staff_with(
    "recommender.view_recommendation",
    "Staff who may view served recommendations: they reveal a customer's tastes.",
)


class CustomerRecommendationsView(APIView):
    """A customer's "recommended for you" list, for staff."""

    permission_classes = [CanViewRecommendations]

    @extend_schema(
        tags=["recommendations"],
        summary="A customer's recommendations (staff)",
        description=f"Staff only. {LIST_NOTE} 404 for an unknown customer id.",
        responses=ServedItemSerializer(many=True),
    )
    def get(self, request: Request, pk: int) -> Response:
        customer = get_object_or_404(get_user_model(), pk=pk)
        return served_list_response(request, recommendations_for(customer))


class ProductListView(APIView):
    """A public list served for one active product; `select` reads it."""

    permission_classes = [AllowAny]
    select: staticmethod

    def get(self, request: Request, sku: str) -> Response:
        product_id = served_rows.active_product_id(sku)
        if product_id is None:
            raise Http404
        # The lists are read by the product's key alone: no need to load the rest.
        product = Product(pk=product_id, sku=sku, is_active=True)
        return served_list_response(request, self.select(product))


class SimilarProductsView(ProductListView):
    select = staticmethod(similar_products)

    @extend_schema(
        tags=["recommendations"],
        summary="Similar products",
        description=f"Public. {LIST_NOTE} 404 for an unknown or inactive SKU.",
        parameters=[SKU],
        responses=ServedItemSerializer(many=True),
    )
    def get(self, request: Request, sku: str) -> Response:
        return super().get(request, sku)


class BoughtTogetherView(ProductListView):
    select = staticmethod(bought_together)

    @extend_schema(
        tags=["recommendations"],
        summary="Frequently bought together",
        description=f"Public. {LIST_NOTE} 404 for an unknown or inactive SKU.",
        parameters=[SKU],
        responses=ServedItemSerializer(many=True),
    )
    def get(self, request: Request, sku: str) -> Response:
        return super().get(request, sku)
