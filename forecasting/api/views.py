"""Staff endpoints of the served forecasts: a product's forecast and a what-if."""

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.models import Product
from ecomsite.permissions import staff_with
from forecasting.selectors import product_forecast, what_if

from .serializers import (
    ProductForecastSerializer,
    WhatIfQuerySerializer,
    WhatIfSerializer,
)

SKU = OpenApiParameter("sku", OpenApiTypes.STR, OpenApiParameter.PATH)
CanViewForecasts = staff_with(
    "forecasting.view_forecastpoint", "Staff who may view the served forecasts."
)


class ProductForecastView(APIView):
    """A product's served demand and price forecasts and projected stock."""

    permission_classes = [CanViewForecasts]

    @extend_schema(
        tags=["forecasts"],
        summary="A product's forecast (staff)",
        description="Staff only. Demand and price with P10/P50/P90 per period from "
        "the active served batches, what moved the demand forecast, and the "
        "projected stock with reorder advice. Parts not forecast yet are null; "
        "404 for an unknown SKU.",
        parameters=[SKU],
        responses=ProductForecastSerializer,
    )
    def get(self, request: Request, sku: str) -> Response:
        product = get_object_or_404(Product.objects.select_related("category"), sku=sku)
        return Response(ProductForecastSerializer(product_forecast(product)).data)


class WhatIfView(APIView):
    """Expected units, revenue and margin of a product at a price over some days."""

    permission_classes = [CanViewForecasts]

    @extend_schema(
        tags=["forecasts"],
        summary="What if the price were X? (staff)",
        description="Staff only. Expected units, revenue and margin at `price` over "
        "the next `days` days, from the served P50 demand scaled by the price "
        "elasticity. 400 names a bad parameter; 404 for an unknown SKU or one "
        "without a served demand forecast.",
        parameters=[SKU, WhatIfQuerySerializer],
        responses=WhatIfSerializer,
    )
    def get(self, request: Request, sku: str) -> Response:
        product = get_object_or_404(Product, sku=sku)
        query = WhatIfQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        result = what_if(product, **query.validated_data)
        if result is None:
            raise NotFound(f"{sku} has no served demand forecast yet.")
        data = {**vars(result), "sku": product.sku, "currency": product.currency}
        return Response(WhatIfSerializer(data).data)
