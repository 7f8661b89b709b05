"""Input and output serializers of the orders API."""

from rest_framework import serializers

from catalog.selectors import product_map_by_sku
from orders.models import Order, OrderLine
from orders.services import CartLine

MAX_LINES = 100
MAX_QUANTITY = 10_000


class OrderLineSerializer(serializers.ModelSerializer):
    sku = serializers.CharField(source="product.sku", read_only=True)
    name = serializers.CharField(source="product.name", read_only=True)
    line_total = serializers.DecimalField(
        max_digits=14, decimal_places=2, read_only=True
    )

    class Meta:
        model = OrderLine
        fields = ["line_number", "sku", "name", "quantity", "unit_price", "line_total"]
        read_only_fields = fields


class OrderSerializer(serializers.ModelSerializer):
    lines = OrderLineSerializer(many=True, read_only=True)

    class Meta:
        model = Order
        fields = [
            "number",
            "customer",
            "kind",
            "status",
            "placed_at",
            "currency",
            "total",
            "country",
            "lines",
        ]
        read_only_fields = fields


class OrderLineInputSerializer(serializers.Serializer):
    sku = serializers.CharField(max_length=64)
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_QUANTITY)


class OrderPlaceInputSerializer(serializers.Serializer):
    """A cart: products by SKU with quantities; the same SKU twice is added up."""

    lines = OrderLineInputSerializer(many=True, allow_empty=False, max_length=MAX_LINES)

    def validate_lines(self, lines: list[dict]) -> list[dict]:
        products = product_map_by_sku(skus=[line["sku"] for line in lines])
        errors: list[dict] = []
        for line in lines:
            product = products.get(line["sku"])
            if product is None:
                errors.append({"sku": [f"Unknown SKU {line['sku']!r}."]})
            elif not product.is_active:
                errors.append({"sku": [f"{product.sku} is not for sale."]})
            else:
                errors.append({})
                line["product"] = product
        if any(errors):
            raise serializers.ValidationError(errors)
        return lines

    def cart_lines(self) -> list[CartLine]:
        """Return the validated lines as the checkout service takes them."""
        return [
            CartLine(line["product"].pk, line["quantity"])
            for line in self.validated_data["lines"]
        ]


class InsufficientStockSerializer(serializers.Serializer):
    """Why an order could not be placed: one product lacks stock."""

    detail = serializers.CharField()
    code = serializers.CharField()
    sku = serializers.CharField()
    requested = serializers.IntegerField()
    available = serializers.IntegerField()
