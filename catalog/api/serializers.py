"""Serializers of the catalogue API: products, categories, category reviews."""

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from catalog.categorisation import category_by_id_or_path
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


class ImageUploadSerializer(serializers.Serializer):
    image = serializers.FileField(
        help_text="JPEG, PNG, WebP or GIF; size and pixel limits apply."
    )
    alt_text = serializers.CharField(max_length=255, required=False, allow_blank=True)
    position = serializers.IntegerField(min_value=0, max_value=32767, required=False)


class AutoCategorySerializer(serializers.Serializer):
    """What the image model said about a product's category."""

    id = serializers.IntegerField(source="auto_category.id")
    path = serializers.CharField(source="auto_category.path")
    confidence = serializers.FloatField(source="auto_category_confidence")
    status = serializers.ChoiceField(
        source="auto_category_status",
        choices=Product.AutoCategoryStatus.choices,
        help_text="auto_assigned: filed by the model; needs_review: in the review "
        "queue; accepted / overridden: an operator decided.",
    )
    model_version = serializers.IntegerField(
        source="auto_category_version.version", allow_null=True, default=None
    )
    categorised_at = serializers.DateTimeField(source="auto_categorised_at")


class ProductSerializer(serializers.ModelSerializer):
    """A product as the shop front sees it."""

    category = CategoryRefSerializer(read_only=True, allow_null=True)
    category_source = serializers.ChoiceField(
        choices=Product.CategorySource.choices,
        read_only=True,
        help_text="Who set the category: an operator, an import or the model.",
    )
    auto_category = serializers.SerializerMethodField(
        help_text="The image model's suggestion; null until it has classified "
        "the product."
    )
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
            "category_source",
            "auto_category",
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

    @extend_schema_field(AutoCategorySerializer(allow_null=True))
    def get_auto_category(self, product: Product) -> dict | None:
        if product.auto_category_id is None:
            return None
        return AutoCategorySerializer(product).data


@extend_schema_field({"oneOf": [{"type": "integer"}, {"type": "string"}]})
class CategoryReferenceField(serializers.Field):
    """A category given by its id or its full path; the category comes out."""

    def to_internal_value(self, data) -> Category:
        try:
            return category_by_id_or_path(data)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from exc

    def to_representation(self, value: Category) -> int:
        return value.pk


class CategoryOverrideSerializer(serializers.Serializer):
    """The category an operator chooses instead of the model's."""

    category = CategoryReferenceField(
        help_text="A category id (e.g. 12) or its full path (e.g. 'Home > Mugs')."
    )


class StaffProductSerializer(ProductSerializer):
    """A product with the stock figures only staff see."""

    class Meta(ProductSerializer.Meta):
        fields = [*ProductSerializer.Meta.fields, "stock_tracked", "stock_on_hand"]
        read_only_fields = fields
