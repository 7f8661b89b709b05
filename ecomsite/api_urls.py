"""Every app's API routes under /api/v1/."""

from django.http import JsonResponse
from django.urls import include, path, re_path
from django.views.decorators.csrf import csrf_exempt


@csrf_exempt
def api_not_found(request, *args, **kwargs):
    """Answer an unknown API path in JSON, as the API's own 404s are (not HTML)."""
    return JsonResponse({"detail": "Not found."}, status=404)


urlpatterns = [
    path("", include("catalog.api.urls")),
    path("", include("orders.api.urls")),
    path("", include("accounts.api.urls")),
    path("", include("recommender.api.urls")),
    path("", include("forecasting.api.urls")),
    # Last: paths no route matched, e.g. `/categories/abc/` where an id is expected.
    # Only paths that end in `/` or a file suffix, so APPEND_SLASH still redirects.
    re_path(r"^(?:.*/|.*\.csv)$", api_not_found, name="api-not-found"),
]
