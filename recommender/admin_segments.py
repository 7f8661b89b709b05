"""Admin of customer segments, the segment overview and segment CSV exports."""

from django.contrib import admin
from django.http import Http404
from django.template.response import TemplateResponse
from django.urls import path, reverse

from ecomsite.admin_tools import ReadOnlyAdminMixin, admin_changelist_url, admin_link
from ecomsite.exporting import csv_download as csv_response

from .models import CustomerSegment
from .segments import (
    SEGMENT_ORDER,
    customers_csv_rows,
    segment_csv_rows,
    segment_overview,
    segment_snapshots,
)


def movement_table(snapshot) -> dict:
    """Return a snapshot's transitions as rows of counts, segments in grid order."""
    if snapshot is None or not snapshot.transitions:
        return {}
    names = [s for s in SEGMENT_ORDER if s in snapshot.transitions] + [
        s
        for s in SEGMENT_ORDER
        if s not in snapshot.transitions
        and any(s in to for to in snapshot.transitions.values())
    ]
    labels = dict(CustomerSegment.Rfm.choices)
    return {
        "columns": [labels[s] for s in names],
        "rows": [
            (
                labels[old],
                [snapshot.transitions.get(old, {}).get(new, 0) for new in names],
            )
            for old in names
            if old in snapshot.transitions
        ],
    }


@admin.register(CustomerSegment)
class CustomerSegmentAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Customer profiles from served segments batches; written by batch inference."""

    change_list_template = "admin/recommender/customersegment/change_list.html"
    list_display = [
        "customer_link",
        "rfm_segment",
        "rfm",
        "recency_days",
        "frequency",
        "monetary",
        "churn_risk",
        "cluster_label",
        "price_band",
        "batch",
    ]
    list_select_related = ["customer", "batch"]
    list_filter = ["rfm_segment", "price_band", "batch__state"]
    search_fields = ["=customer__username", "=customer__external_id", "customer__email"]
    raw_id_fields = ["customer", "batch"]
    ordering = ["-batch_id", "customer_id"]
    show_full_result_count = False
    actions = ["export_csv"]

    @admin.display(description="Customer", ordering="customer__username")
    def customer_link(self, row):
        return admin_link(row.customer)

    @admin.display(description="RFM")
    def rfm(self, row):
        return f"{row.r_score}{row.f_score}{row.m_score}"

    @admin.action(description="Export the selected customers as CSV")
    def export_csv(self, request, queryset):
        return csv_response(customers_csv_rows(queryset), "customers.csv")

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path(
                "overview/",
                view(self.overview_view),
                name="recommender_customersegment_overview",
            ),
            path(
                "export/<slug:segment>.csv",
                view(self.export_view),
                name="recommender_customersegment_export",
            ),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "overview_url": reverse("admin:recommender_customersegment_overview"),
        }
        return super().changelist_view(request, extra_context)

    def overview_view(self, request):
        """Per segment: size, revenue share, top categories, churn risk; movement."""
        if not self.has_view_permission(request):
            raise Http404
        snapshots = segment_snapshots()
        segments = segment_overview()
        for entry in segments:
            entry["revenue_percent"] = 100 * entry["revenue_share"]
            entry["top_categories_text"] = ", ".join(
                f"{c['name']} ({100 * c['share']:.0f}%)"
                for c in entry["top_categories"]
            )
            entry["export_url"] = reverse(
                "admin:recommender_customersegment_export", args=[entry["segment"]]
            )
            entry["customers_url"] = admin_changelist_url(
                self.model._meta.get_field("customer").related_model,
                segment=entry["segment"],
            )
        labels = dict(CustomerSegment.Rfm.choices)
        history_names = [
            s for s in SEGMENT_ORDER if any(s in snap.sizes for snap in snapshots)
        ]
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Segment overview",
            "segments": segments,
            "movement": movement_table(snapshots[0] if snapshots else None),
            "latest_snapshot": snapshots[0] if snapshots else None,
            "history_columns": [labels[s] for s in history_names],
            "history": [
                (snap.taken_at, [snap.sizes.get(s, 0) for s in history_names])
                for snap in snapshots
            ],
        }
        return TemplateResponse(
            request, "admin/recommender/customersegment/overview.html", context
        )

    def export_view(self, request, segment: str):
        if not self.has_view_permission(request) or segment not in SEGMENT_ORDER:
            raise Http404
        return csv_response(segment_csv_rows(segment), f"segment-{segment}.csv")
