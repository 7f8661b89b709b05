"""Order endpoints: customers list, read and place their own orders; staff read all."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiParameter, OpenApiTypes, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import ValidationError
from rest_framework.filters import OrderingFilter
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error

from orders.models import Order
from orders.selectors import order_list_with_lines_for
from orders.services import InsufficientStock, order_place

from .filters import OrderFilter
from .serializers import (
    InsufficientStockSerializer,
    OrderPlaceInputSerializer,
    OrderSerializer,
)
from .throttles import OrderPlaceThrottle


class OrderViewMixin:
    serializer_class = OrderSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return Order.objects.none()
        return order_list_with_lines_for(user=self.request.user)


@extend_schema(tags=["orders"])
class OrderListView(OrderViewMixin, generics.ListAPIView):
    parser_classes = [JSONParser]
    filter_backends = [DjangoFilterBackend, OrderingFilter]
    filterset_class = OrderFilter
    ordering_fields = ["placed_at", "total"]
    ordering = ["-placed_at", "-id"]

    def get_throttles(self):
        throttles = super().get_throttles()
        if self.request.method == "POST":
            throttles.append(OrderPlaceThrottle())
        return throttles

    @extend_schema(
        summary="List orders",
        description="A customer sees only their own orders; staff see every order.",
    )
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Place an order",
        description="Place an order for the signed-in customer, taking the stock. "
        "Nothing is written unless every line can be served.",
        request=OrderPlaceInputSerializer,
        responses={
            201: OrderSerializer,
            400: OpenApiTypes.OBJECT,
            409: InsufficientStockSerializer,
        },
    )
    def post(self, request: Request) -> Response:
        cart = OrderPlaceInputSerializer(data=request.data)
        cart.is_valid(raise_exception=True)
        try:
            order = order_place(customer=request.user, lines=cart.cart_lines())
        except InsufficientStock as exc:
            body = {
                "detail": str(exc),
                "code": "insufficient_stock",
                "sku": exc.product.sku,
                "requested": exc.requested,
                "available": exc.available,
            }
            return Response(body, status=status.HTTP_409_CONFLICT)
        except DjangoValidationError as exc:
            raise ValidationError(as_serializer_error(exc)) from exc
        order = self.get_queryset().get(pk=order.pk)
        return Response(self.get_serializer(order).data, status=status.HTTP_201_CREATED)


@extend_schema(
    tags=["orders"],
    summary="Get an order by number",
    description="Another customer's order is not found (404).",
    parameters=[OpenApiParameter("number", OpenApiTypes.STR, OpenApiParameter.PATH)],
)
class OrderDetailView(OrderViewMixin, generics.RetrieveAPIView):
    lookup_field = "number"
