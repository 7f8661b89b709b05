"""Security middleware: a Content-Security-Policy on every response (settings.
CONTENT_SECURITY_POLICY), no NUL characters in paths, and no admin action on ids
that cannot exist.

The admin and the storefront load scripts, styles and images only from the project
itself (no CDN, no inline script); the browser tests run under the policy.
"""

from django.conf import settings
from django.http import HttpResponseBadRequest, HttpResponseNotFound, JsonResponse


def policy_header(policy: dict[str, str]) -> str:
    """Return the header value for a {directive: sources} mapping."""
    return "; ".join(f"{directive} {sources}" for directive, sources in policy.items())


class ContentSecurityPolicyMiddleware:
    """Add the policy from `settings.CONTENT_SECURITY_POLICY` unless a view set one."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.header = policy_header(settings.CONTENT_SECURITY_POLICY)

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", self.header)
        return response


class NulInPathMiddleware:
    """Answer 404 to a path holding a NUL character: no page or key has one, and
    PostgreSQL refuses to compare text with it (a server error otherwise)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "\x00" not in request.path:
            return self.get_response(request)
        if request.path.startswith("/api/"):
            return JsonResponse({"detail": "Not found."}, status=404)
        return HttpResponseNotFound("Not found.", content_type="text/plain")


class AdminSelectionMiddleware:
    """Answer 400 to an admin action posted with selected ids that cannot be ids of
    the list's model (`²`, a 20-digit number): Django's admin filters on them as
    they are and fails with a server error when the list is read."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method == "POST" and "_selected_action" in request.POST:
            model = _changelist_model(request.path_info)
            if model is not None and not all(
                _is_primary_key(model, value)
                for value in request.POST.getlist("_selected_action")
            ):
                return HttpResponseBadRequest(
                    "The selection names rows that do not exist.",
                    content_type="text/plain",
                )
        if request.method == "GET" and _has_oversized_filter(request):
            return HttpResponseBadRequest(
                "A filter value is a number too large for any row.",
                content_type="text/plain",
            )
        return self.get_response(request)


def _changelist_model(path: str):
    """Return the model of the admin list at `path`, or None."""
    from django.contrib import admin
    from django.urls import Resolver404, resolve

    try:
        match = resolve(path)
    except Resolver404:
        return None
    if not (match.url_name or "").endswith("_changelist"):
        return None
    for model in admin.site._registry:
        opts = model._meta
        if match.url_name == f"{opts.app_label}_{opts.model_name}_changelist":
            return model
    return None


def _is_primary_key(model, value: str) -> bool:
    from django.core.exceptions import ValidationError
    from django.db import models

    from .numbers import parse_whole_number

    pk = model._meta.pk
    field = pk.target_field if pk.is_relation else pk
    if isinstance(field, models.IntegerField):  # AutoFields too
        return parse_whole_number(value) is not None
    try:
        pk.to_python(value)
    except ValidationError:
        return False
    return "\x00" not in value


# Query parameters of an admin list that are not filters on the model's fields.
LIST_PARAMETERS = {"q", "o", "p", "e", "_to_field", "_popup", "_facets", "all"}


def _has_oversized_filter(request) -> bool:
    """Whether an admin list is filtered on a number no database integer holds
    (SQLite and PostgreSQL fail on it when the list is read)."""
    from .numbers import MAX_ID

    if not request.GET or _changelist_model(request.path_info) is None:
        return False
    return any(
        value.strip().isdigit() and value.strip().isascii() and int(value) > MAX_ID
        for name, values in request.GET.lists()
        if name not in LIST_PARAMETERS
        for value in values
    )
