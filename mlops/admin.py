"""Admin for the registry and runs: progress bars, metrics next to baselines, audit."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from .models import InferenceChunk, ModelVersion, RegistryEvent, Run, ServedBatch
from .registry import RegistryError, version_promote, version_rollback
from .runs import run_request


def progress_bar(run: Run) -> str:
    label = f"{run.progress:.0f}%"
    return format_html(
        '<progress value="{}" max="100" aria-label="{} progress {}">{}</progress> '
        "<span>{} · {}</span>",
        f"{run.progress:.1f}",
        run,
        label,
        label,
        label,
        run.get_state_display(),
    )


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

    @admin.action(description="Run again (new runs of the same kind and type)")
    def retry_runs(self, request, queryset):
        if not request.user.has_perm("mlops.add_run"):
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

    def _primary(self, version):
        from .kinds import KindNotAvailable, get_kind

        try:
            return get_kind(version.kind).primary_metric
        except KindNotAvailable:
            return next(iter(version.metrics), None)

    @admin.display(description="Primary metric")
    def primary_metric(self, version: ModelVersion) -> str:
        metric = self._primary(version)
        value = version.metrics.get(metric)
        return "—" if value is None else f"{metric} {value:.4f}"

    @admin.display(description="Best baseline")
    def best_baseline(self, version: ModelVersion) -> str:
        metric = self._primary(version)
        values = [
            (m.get(metric), n) for n, m in version.baselines.items() if metric in m
        ]
        if not values:
            return "—"
        from .kinds import get_kind

        higher = get_kind(version.kind).higher_is_better
        value, name = (max if higher else min)(values)
        return f"{name} {value:.4f}"

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
