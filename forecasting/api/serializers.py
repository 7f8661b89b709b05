"""Input and output serializers of the forecasting API."""

from decimal import Decimal

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from forecasting.selectors import ProductForecast
from forecasting.stock import StockProjection

MAX_WHAT_IF_DAYS = 365


class ForecastPointSerializer(serializers.Serializer):
    date = serializers.DateField(help_text="Start of the period.")
    p10 = serializers.FloatField()
    p50 = serializers.FloatField()
    p90 = serializers.FloatField()


class ForecastSeriesSerializer(serializers.Serializer):
    """A served quantile forecast: units per period (demand) or price."""

    frequency = serializers.ChoiceField(
        choices=["D", "W"], help_text="D: daily periods, W: weekly."
    )
    points = ForecastPointSerializer(many=True)


class ForecastSummarySerializer(serializers.Serializer):
    """What the demand forecast says over its horizon, and what moved it."""

    horizon_units_p10 = serializers.FloatField()
    horizon_units_p50 = serializers.FloatField()
    horizon_units_p90 = serializers.FloatField()
    explanation = serializers.CharField()
    breakdown = serializers.DictField(
        child=serializers.FloatField(),
        help_text="Units over the horizon by driver: base, price, promotion, "
        "season, trend.",
    )
    elasticity = serializers.FloatField(allow_null=True)
    elasticity_level = serializers.CharField(
        help_text="product, or category where the product's own data is thin."
    )


class StockPointSerializer(serializers.Serializer):
    date = serializers.DateField(help_text="Start of the period.")
    on_hand_p50 = serializers.FloatField(help_text="At the period's end, P50 demand.")
    on_hand_p90 = serializers.FloatField(help_text="At the period's end, P90 demand.")


class IncomingSerializer(serializers.Serializer):
    expected_on = serializers.DateField()
    quantity = serializers.IntegerField()


class StockSerializer(serializers.Serializer):
    """Projected stock and reorder advice."""

    on_hand = serializers.IntegerField()
    lead_time_days = serializers.IntegerField()
    service_level = serializers.FloatField()
    review_days = serializers.IntegerField()
    incoming = IncomingSerializer(many=True, help_text="Open purchase orders.")
    points = StockPointSerializer(many=True)
    stockout_p50 = serializers.DateField(allow_null=True)
    stockout_p90 = serializers.DateField(allow_null=True)
    days_of_cover = serializers.FloatField(
        allow_null=True, help_text="Empty when no demand is expected."
    )
    reorder_point = serializers.FloatField()
    suggested_quantity = serializers.IntegerField()
    reorder_now = serializers.BooleanField()
    runs_out_before_delivery = serializers.BooleanField()


class ProductForecastSerializer(serializers.Serializer):
    """A product's served forecasts; parts without a forecast are null."""

    sku = serializers.CharField(source="product.sku")
    name = serializers.CharField(source="product.name")
    currency = serializers.CharField(source="product.currency")
    demand = ForecastSeriesSerializer(allow_null=True)
    price = ForecastSeriesSerializer(allow_null=True)
    summary = ForecastSummarySerializer(allow_null=True)
    stock = serializers.SerializerMethodField()

    @extend_schema_field(StockSerializer(allow_null=True))
    def get_stock(self, forecast: ProductForecast) -> dict | None:
        projection: StockProjection | None = forecast.stock
        if projection is None:
            return None
        points = [
            {"date": day, "on_hand_p50": p50, "on_hand_p90": p90}
            for day, p50, p90 in zip(
                projection.dates,
                projection.on_hand_p50,
                projection.on_hand_p90,
                strict=True,
            )
        ]
        return StockSerializer(
            {
                **vars(projection),
                "on_hand": forecast.product.stock_on_hand,
                "lead_time_days": forecast.lead_time_days,
                "service_level": forecast.service_level,
                "review_days": forecast.review_days,
                "incoming": [
                    {"expected_on": due, "quantity": units}
                    for due, units in forecast.incoming
                ],
                "points": points,
            }
        ).data


class WhatIfQuerySerializer(serializers.Serializer):
    """The what-if question: a price, and how many days from today."""

    price = serializers.DecimalField(
        max_digits=12, decimal_places=4, min_value=Decimal("0.0001")
    )
    days = serializers.IntegerField(min_value=1, max_value=MAX_WHAT_IF_DAYS, default=28)


class WhatIfSerializer(serializers.Serializer):
    """Expected sales at the price asked, against the forecast at planned prices."""

    sku = serializers.CharField()
    currency = serializers.CharField()
    price = serializers.DecimalField(max_digits=12, decimal_places=4)
    days = serializers.IntegerField()
    days_forecast = serializers.IntegerField(
        help_text="Days of the window the served forecast covers (its horizon)."
    )
    units = serializers.FloatField()
    units_at_planned_price = serializers.FloatField()
    revenue = serializers.DecimalField(max_digits=16, decimal_places=2)
    margin = serializers.DecimalField(
        max_digits=16,
        decimal_places=2,
        allow_null=True,
        help_text="Revenue less cost; empty when the product's cost is unknown.",
    )
    unit_cost = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        allow_null=True,
        help_text="Average unit cost behind the margin; empty when unknown.",
    )
    cost_source = serializers.ChoiceField(
        choices=["import", "product", "none"],
        help_text="Where the unit cost came from: imported sales records (the "
        "period's own, else the latest), the product's cost, or none.",
    )
    elasticity = serializers.FloatField(allow_null=True)
    elasticity_level = serializers.ChoiceField(
        choices=["product", "category", "shop", "none"],
        help_text="Whose elasticity was used: the product's own, its category's "
        "average, the shop's average, or none (units as forecast).",
    )
