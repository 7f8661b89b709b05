"""Output serializers of the catalogue API (the catalogue is read-only here)."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from catalog.models import Category, Product, ProductImage


class CategoryRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Category
        fields = ["id", "name", "path"]


class CategorySerializer(serializers.ModelSerializer):
    class Meta:
        model = Category
        fields = ["id", "name", "parent", "path", "depth"]


class CategoryNodeSerializer(serializers.ModelSerializer):
    """A category with its subcategories, recursively."""

    class Meta:
        model = Category
        fields = ["id", "name", "path", "depth", "children"]

    def get_fields(self):
        fields = super().get_fields()
        fields["children"] = CategoryNodeSerializer(
            many=True, read_only=True, source="tree_children"
        )
        return fields


class ProductImageSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()
    thumbnail_url = serializers.SerializerMethodField()

    class Meta:
        model = ProductImage
        fields = ["url", "thumbnail_url", "width", "height", "alt_text"]

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, image: ProductImage) -> str:
        return self._absolute(image.image.url)

    @extend_schema_field({"type": "string", "format": "uri", "nullable": True})
    def get_thumbnail_url(self, image: ProductImage) -> str | None:
        return self._absolute(image.thumbnail.url) if image.thumbnail else None

    def _absolute(self, url: str) -> str:
        request = self.context.get("request")
        return request.build_absolute_uri(url) if request else url


class ProductSerializer(serializers.ModelSerializer):
    """A product as the shop front sees it."""

    category = CategoryRefSerializer(read_only=True, allow_null=True)
    in_stock = serializers.SerializerMethodField(
        help_text="Available now; products that are not stock-tracked always are."
    )
    images = ProductImageSerializer(many=True, read_only=True)

    class Meta:
        model = Product
        fields = [
            "sku",
            "name",
            "description",
            "category",
            "price",
            "currency",
            "is_active",
            "in_stock",
            "images",
            "created_at",
        ]
        read_only_fields = fields

    def get_in_stock(self, product: Product) -> bool:
        return not product.is_out_of_stock


class StaffProductSerializer(ProductSerializer):
    """A product with the stock figures only staff see."""

    class Meta(ProductSerializer.Meta):
        fields = [*ProductSerializer.Meta.fields, "stock_tracked", "stock_on_hand"]
        read_only_fields = fields
