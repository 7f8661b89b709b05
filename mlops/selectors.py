"""Reads of the registry and runs."""

from django.db.models import QuerySet

from .models import ModelVersion, Run


def model_report(*, kind: str | None = None) -> list[dict]:
    """Return the registry as DESIGN.md's JSON: one object per model version."""
    versions = ModelVersion.objects.order_by("kind", "version")
    if kind:
        versions = versions.filter(kind=kind)
    return [version.as_report() for version in versions]


def runs_recent(*, limit: int = 20) -> QuerySet[Run]:
    return Run.objects.select_related("model_version", "trained_version")[:limit]
