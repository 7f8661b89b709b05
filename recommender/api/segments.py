"""Customer segments for staff: overview, a segment's customers, one customer."""

from django.contrib.auth import get_user_model
from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ecomsite.permissions import staff_with
from recommender.admin_segments import csv_response
from recommender.models import CustomerSegment
from recommender.segments import (
    customer_segment,
    segment_csv_rows,
    segment_members,
    segment_overview,
)

SEGMENT = OpenApiParameter(
    "segment",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    description="Named RFM segment: " + ", ".join(CustomerSegment.Rfm.values) + ".",
)


CanViewSegments = staff_with(
    "recommender.view_customersegment",
    "Staff who may view customer segments: they name customers and their habits.",
)


# --- Serializers -------------------------------------------------------------------


class CategoryShareSerializer(serializers.Serializer):
    category = serializers.IntegerField(help_text="Category id.")
    name = serializers.CharField(help_text="Category path.")
    share = serializers.FloatField(help_text="Share of the customer's purchases.")


class SegmentSummarySerializer(serializers.Serializer):
    """One named segment of the active segments batch."""

    segment = serializers.CharField(help_text="Named RFM segment, e.g. at_risk.")
    label = serializers.CharField()
    size = serializers.IntegerField(help_text="Customers in the segment.")
    revenue = serializers.DecimalField(max_digits=16, decimal_places=2)
    revenue_share = serializers.FloatField(help_text="0 to 1, of all customers'.")
    average_churn_risk = serializers.FloatField(allow_null=True)
    top_categories = CategoryShareSerializer(many=True)


class CustomerSegmentSerializer(serializers.ModelSerializer):
    """A customer's behaviour profile from the active segments batch."""

    customer_id = serializers.IntegerField(read_only=True)
    external_id = serializers.CharField(
        source="customer.external_id", allow_null=True, read_only=True
    )
    username = serializers.CharField(source="customer.username", read_only=True)
    email = serializers.EmailField(source="customer.email", read_only=True)
    category_affinities = CategoryShareSerializer(many=True, read_only=True)

    class Meta:
        model = CustomerSegment
        fields = [
            "customer_id",
            "external_id",
            "username",
            "email",
            "rfm_segment",
            "recency_days",
            "frequency",
            "monetary",
            "r_score",
            "f_score",
            "m_score",
            "cluster",
            "cluster_label",
            "churn_risk",
            "price_band",
            "category_affinities",
        ]
        read_only_fields = fields


# --- Views -------------------------------------------------------------------------


def _segment_or_404(segment: str) -> str:
    if segment not in CustomerSegment.Rfm.values:
        raise Http404(f"No segment {segment!r}.")
    return segment


class SegmentOverviewView(APIView):
    """Size, revenue share, churn risk and top categories of each named segment."""

    permission_classes = [CanViewSegments]

    @extend_schema(tags=["segments"], responses=SegmentSummarySerializer(many=True))
    def get(self, request: Request) -> Response:
        return Response(SegmentSummarySerializer(segment_overview(), many=True).data)


class SegmentCustomersView(generics.ListAPIView):
    """A segment's customers, riskiest first (paginated)."""

    permission_classes = [CanViewSegments]
    serializer_class = CustomerSegmentSerializer
    filter_backends: list = []

    def get_queryset(self):
        return segment_members(_segment_or_404(self.kwargs["segment"]))

    @extend_schema(tags=["segments"], parameters=[SEGMENT])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class SegmentExportView(APIView):
    """A segment's customers as CSV for a marketing campaign."""

    permission_classes = [CanViewSegments]

    @extend_schema(
        tags=["segments"],
        parameters=[SEGMENT],
        responses={
            (200, "text/csv"): OpenApiResponse(
                OpenApiTypes.STR,
                description="customer_id,username,email,segment,churn_risk,"
                "top_categories (customer_id as imported).",
            )
        },
    )
    def get(self, request: Request, segment: str):
        segment = _segment_or_404(segment)
        return csv_response(segment_csv_rows(segment), f"segment-{segment}.csv")


class CustomerSegmentView(APIView):
    """One customer's current segment, RFM, cluster, churn risk and affinities."""

    permission_classes = [CanViewSegments]

    @extend_schema(
        tags=["segments"],
        parameters=[OpenApiParameter("pk", OpenApiTypes.INT, OpenApiParameter.PATH)],
        responses=CustomerSegmentSerializer,
    )
    def get(self, request: Request, pk: int) -> Response:
        customer = get_object_or_404(get_user_model(), pk=pk)
        row = customer_segment(customer)
        if row is None:
            raise Http404("No segment is served for this customer yet.")
        return Response(CustomerSegmentSerializer(row).data)
