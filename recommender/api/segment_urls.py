"""Customer segments (staff)."""

from django.urls import path

from . import segments

urlpatterns = [
    path("segments/", segments.SegmentOverviewView.as_view(), name="api-segments"),
    path(
        "segments/<slug:segment>/customers/",
        segments.SegmentCustomersView.as_view(),
        name="api-segment-customers",
    ),
    path(
        "segments/<slug:segment>/export.csv",
        segments.SegmentExportView.as_view(),
        name="api-segment-export",
    ),
    path(
        "customers/<int:pk>/segment/",
        segments.CustomerSegmentView.as_view(),
        name="api-customer-segment",
    ),
]
