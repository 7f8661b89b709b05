"""The admin index with the dashboard above the list of apps."""

from django.contrib import admin

from catalog.admin import can_review_categories

from ..admin import can_start_runs
from ..models import ModelKind, Run
from ..selectors import kinds_readiness, runs_for_dashboard
from .health import model_health
from .sales import PERIODS, period_days, sales_overview
from .stock import review_queue_size, stock_watch_cached


def dashboard_context(request) -> dict:
    """Return the dashboard sections the user may see, each read in a bounded number
    of queries."""
    user = request.user
    days = period_days(request.GET.get("period"))
    context = {"periods": PERIODS, "period": days}
    if user.has_perm("orders.view_order"):
        context["sales"] = sales_overview(days=days)
    if user.has_perm("mlops.view_modelversion"):
        context["health"] = model_health()
    if user.has_perm("mlops.view_run"):
        context["runs"] = runs_for_dashboard()
    if can_start_runs(user):
        context["run_kinds"] = ModelKind.choices
        context["run_types"] = Run.Type.choices
    if user.has_perm("forecasting.view_purchaseorder"):
        context["stock"] = stock_watch_cached()
    if can_review_categories(user):
        context["review_queue_size"] = review_queue_size()
    if {"health", "stock", "review_queue_size"} & context.keys():
        # Panels fed by a model say "training…" with live progress until it serves.
        context["readiness"] = kinds_readiness()
    return context


def admin_index(request):
    """Render the admin index with the dashboard (GET `period`: 7, 30 or 90 days)."""
    return admin.site.index(
        request, extra_context={"dashboard": dashboard_context(request)}
    )
