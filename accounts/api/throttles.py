"""Throttle of the sign-in (token) endpoint."""

from rest_framework.settings import api_settings
from rest_framework.throttling import AnonRateThrottle


class SignInThrottle(AnonRateThrottle):
    """Limit password attempts per client address.

    The rate is DEFAULT_THROTTLE_RATES["auth"] when set, else `default_rate`.
    """

    scope = "auth"
    default_rate = "10/minute"

    def get_rate(self) -> str:
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope) or self.default_rate
