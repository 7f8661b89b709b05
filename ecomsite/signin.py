"""Sign-in defences shared by the admin, the storefront and the API token endpoint:
the client address they count against, and the lockout (django-axes)."""

from axes.backends import AxesStandaloneBackend
from django.conf import settings
from django.http import HttpResponse, JsonResponse
from rest_framework.throttling import BaseThrottle

LOCKED_OUT = (
    "Too many failed sign-ins from this address. Try again in {minutes} minutes."
)


def client_address(request) -> str:
    """Return the client's address as the API throttles see it: REMOTE_ADDR, or the
    entry NUM_PROXIES from the end of X-Forwarded-For when proxies are trusted."""
    return BaseThrottle().get_ident(request)


def lockout_response(request, original_response=None, credentials=None):
    """Answer a locked-out sign-in: JSON for the API, a short page otherwise."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    message = LOCKED_OUT.format(minutes=minutes)
    retry_after = str(int(settings.AXES_COOLOFF_TIME.total_seconds()))
    if request.path.startswith("/api/"):
        response = JsonResponse({"detail": message}, status=429)
    else:
        response = HttpResponse(message, status=429, content_type="text/plain")
    response["Retry-After"] = retry_after
    return response


class LockoutBackend(AxesStandaloneBackend):
    """Refuse sign-ins from a locked-out client (django-axes).

    A sign-in that comes with no request (the shell, a management command) is not
    from the network and is not counted.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username, password, **kwargs)
