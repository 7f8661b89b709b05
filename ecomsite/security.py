"""Security middleware: a Content-Security-Policy on every response (settings.
CONTENT_SECURITY_POLICY), and no NUL characters in paths.

The admin and the storefront load scripts, styles and images only from the project
itself (no CDN, no inline script); the browser tests run under the policy.
"""

from django.conf import settings
from django.http import HttpResponseNotFound, JsonResponse


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
