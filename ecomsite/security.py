"""A Content-Security-Policy header on every response (settings.CONTENT_SECURITY_POLICY).

The admin and the storefront load scripts, styles and images only from the project
itself (no CDN, no inline script); the browser tests run under the policy.
"""

from django.conf import settings


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
