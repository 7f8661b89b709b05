"""Admin for the registry and runs: progress bars, metrics next to baselines, audit."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpResponseNotAllowed, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.http import url_has_allowed_host_and_scheme

from ecomsite.numbers import parse_whole_numbers

from .models import (
    InferenceChunk,
    ModelKind,
    ModelVersion,
    RegistryEvent,
    Run,
    ServedBatch,
)
from .registry import RegistryError, version_promote, version_rollback
from .runs import run_request
from .selectors import best_baseline as version_best_baseline
from .selectors import kinds_readiness, run_progress
from .selectors import primary_metric as version_primary_metric

PROGRESS_IDS_LIMIT = 100


def progress_bar(run: Run) -> str:
    """Return a run's <progress> with a text label; run_progress.js keeps it live."""
    label = f"{run.progress:.0f}%"
    return format_html(
        '<span class="run-progress" data-run-id="{}" data-finished="{}" '
        'data-url="{}"><progress value="{}" max="100" aria-label="{} progress {}">'
        '{}</progress> <span class="run-progress-label" aria-live="polite">'
        "{} · {}</span></span>",
        run.pk,
        "true" if run.is_finished else "false",
        reverse("admin:mlops_run_progress"),
        f"{run.progress:.1f}",
        run,
        label,
        label,
        label,
        run.get_state_display(),
    )


def can_start_runs(user) -> bool:
    """Whether a user may queue training or inference runs from the admin."""
    return user.has_perm("mlops.add_run") or user.has_perm("mlops.change_run")


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Run)
class RunAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "type",
        "kind",
        "state",
        "progress_display",
        "message",
        "resulting_version",
        "attempts",
        "created_at",
        "duration",
    ]
    list_filter = ["type", "kind", "state"]
    list_select_related = ["model_version", "trained_version", "requested_by"]
    readonly_fields = ["progress_display", "resulting_version"]
    fields = [
        "kind",
        "type",
        "state",
        "progress_display",
        "step",
        "total_steps",
        "eta_seconds",
        "message",
        "device",
        "attempts",
        "options",
        "resulting_version",
        "requested_by",
        "created_at",
        "started_at",
        "heartbeat_at",
        "finished_at",
        "log",
        "error",
    ]
    date_hierarchy = "created_at"
    actions = ["retry_runs"]

    class Media:
        css = {"all": ["mlops/dashboard.css"]}
        js = ["mlops/run_progress.js"]

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("progress/", view(self.progress_view), name="mlops_run_progress"),
            path("start/", view(self.start_view), name="mlops_run_start"),
            path("readiness/", view(self.readiness_view), name="mlops_run_readiness"),
            *super().get_urls(),
        ]

    def progress_view(self, request):
        """Return the progress of the runs in `?ids=1,2,3` as JSON (polled by pages)."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        ids = parse_whole_numbers(
            request.GET.get("ids", "").split(","), limit=PROGRESS_IDS_LIMIT
        )
        runs = Run.objects.filter(pk__in=ids).order_by("pk")
        return JsonResponse({"runs": [run_progress(run) for run in runs]})

    def readiness_view(self, request):
        """Return per kind whether its model serves and its run's progress, as JSON
        (polled by the dashboard's "training…" panels)."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        readiness = kinds_readiness()
        return JsonResponse({kind: r.as_json() for kind, r in readiness.items()})

    def start_view(self, request):
        """Queue a training or inference run of a kind (POST `kind`, `type`, `next`)."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not can_start_runs(request.user):
            raise PermissionDenied
        kind, run_type = request.POST.get("kind"), request.POST.get("type")
        if kind not in ModelKind.values or run_type not in Run.Type.values:
            messages.error(request, "Choose a model kind and a run type.")
            return redirect("admin:index")
        with transaction.atomic():  # the task is queued once the run is committed
            run = run_request(kind=kind, type=run_type, user=request.user)
        url = reverse("admin:mlops_run_change", args=[run.pk])
        messages.success(
            request,
            format_html(
                'Queued <a href="{}">{}</a> of {}.',
                url,
                f"{run.get_type_display().lower()} run #{run.pk}",
                ModelKind(kind).label.lower(),
            ),
        )
        target = request.POST.get("next", "")
        if not url_has_allowed_host_and_scheme(
            target,
            allowed_hosts={request.get_host()},
            require_https=request.is_secure(),
        ):
            target = url
        return redirect(target)

    @admin.display(description="Progress", ordering="progress")
    def progress_display(self, run: Run) -> str:
        return progress_bar(run)

    @admin.display(description="Version")
    def resulting_version(self, run: Run) -> str:
        version = getattr(run, "trained_version", None) or run.model_version
        if version is None:
            return "—"
        url = reverse("admin:mlops_modelversion_change", args=[version.pk])
        return format_html('<a href="{}">{}</a>', url, version)

    @admin.display(description="Duration")
    def duration(self, run: Run) -> str:
        seconds = run.duration_seconds
        return "—" if seconds is None else f"{seconds:.1f} s"

    def has_retry_permission(self, request) -> bool:
        return request.user.has_perm("mlops.add_run")

    @admin.action(
        description="Run again (new runs of the same kind and type)",
        permissions=["retry"],
    )
    def retry_runs(self, request, queryset):
        if not self.has_retry_permission(request):
            raise PermissionDenied
        for run in queryset:
            run_request(
                kind=run.kind, type=run.type, user=request.user, options=run.options
            )
        self.message_user(
            request, f"Queued {queryset.count()} run(s).", messages.SUCCESS
        )


class RegistryEventInline(admin.TabularInline):
    model = RegistryEvent
    extra = 0
    can_delete = False
    fields = ["at", "action", "user", "reason"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


class ReasonForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=True)


@admin.register(ModelVersion)
class ModelVersionAdmin(ReadOnlyAdmin):
    list_display = [
        "kind",
        "version",
        "algorithm",
        "status",
        "primary_metric",
        "best_baseline",
        "trained_at",
        "device",
    ]
    list_filter = ["kind", "status", "algorithm"]
    readonly_fields = ["metrics_table", "status_reason"]
    fields = [
        "kind",
        "version",
        "algorithm",
        "status",
        "status_reason",
        "metrics_table",
        "protocol",
        "hyperparameters",
        "seed",
        "data_fingerprint",
        "trained_at",
        "training_seconds",
        "device",
        "artifact",
        "artifact_sha256",
        "run",
    ]
    inlines = [RegistryEventInline]
    change_form_template = "admin/mlops/modelversion/change_form.html"

    @admin.display(description="Primary metric")
    def primary_metric(self, version: ModelVersion) -> str:
        metric, value = version_primary_metric(version.kind, version.metrics)
        return "—" if value is None else f"{metric} {value:.4f}"

    @admin.display(description="Best baseline")
    def best_baseline(self, version: ModelVersion) -> str:
        best = version_best_baseline(version)
        return "—" if best is None else f"{best[0]} {best[1]:.4f}"

    @admin.display(description="Held-out metrics (model vs baselines)")
    def metrics_table(self, version: ModelVersion) -> str:
        names = list(version.metrics)
        header = format_html_join("", "<th scope='col'>{}</th>", ((n,) for n in names))
        rows = [(version.algorithm + " (this version)", version.metrics)]
        rows += list(version.baselines.items())
        body = format_html_join(
            "",
            "<tr><th scope='row'>{}</th>{}</tr>",
            (
                (
                    label,
                    format_html_join(
                        "",
                        "<td>{}</td>",
                        ((f"{m.get(n, float('nan')):.4f}",) for n in names),
                    ),
                )
                for label, m in rows
            ),
        )
        return format_html(
            "<table><thead><tr><th scope='col'>model</th>{}</tr></thead>"
            "<tbody>{}</tbody></table>",
            header,
            body,
        )

    def get_urls(self):
        own = [
            path(
                "<int:pk>/promote/",
                self.admin_site.admin_view(self.promote_view),
                name="mlops_modelversion_promote",
            ),
            path(
                "<int:pk>/rollback/",
                self.admin_site.admin_view(self.rollback_view),
                name="mlops_modelversion_rollback",
            ),
        ]
        return own + super().get_urls()

    def _registry_action(self, request, pk, title, act):
        if not request.user.has_perm("mlops.change_modelversion"):
            raise PermissionDenied
        version = get_object_or_404(ModelVersion, pk=pk)
        form = ReasonForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                result = act(version, form.cleaned_data["reason"])
            except RegistryError as exc:
                self.message_user(request, str(exc), messages.ERROR)
            else:
                self.message_user(
                    request, f"{result} is now champion.", messages.SUCCESS
                )
                return redirect("admin:mlops_modelversion_change", result.pk)
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "version": version,
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(
            request, "admin/mlops/modelversion/reason_form.html", context
        )

    def promote_view(self, request, pk):
        return self._registry_action(
            request,
            pk,
            "Promote to champion",
            lambda v, reason: version_promote(
                version=v, user=request.user, reason=reason
            ),
        )

    def rollback_view(self, request, pk):
        return self._registry_action(
            request,
            pk,
            "Roll back to the previous champion",
            lambda v, reason: version_rollback(
                kind=v.kind, user=request.user, reason=reason
            ),
        )


@admin.register(RegistryEvent)
class RegistryEventAdmin(ReadOnlyAdmin):
    list_display = ["at", "version", "action", "user", "reason"]
    list_filter = ["action", "version__kind"]
    list_select_related = ["version", "user"]

    def has_delete_permission(self, request, obj=None):
        return False


class InferenceChunkInline(admin.TabularInline):
    model = InferenceChunk
    fields = ["index", "done", "rows", "seconds"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    max_num = 0


@admin.register(ServedBatch)
class ServedBatchAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "kind",
        "state",
        "model_version",
        "rows",
        "total_chunks",
        "created_at",
        "activated_at",
    ]
    list_filter = ["kind", "state"]
    list_select_related = ["model_version"]
    inlines = [InferenceChunkInline]
