"""Throttle of order placement."""

from rest_framework.settings import api_settings
from rest_framework.throttling import UserRateThrottle


class OrderPlaceThrottle(UserRateThrottle):
    """Limit how often one customer places orders.

    The rate is DEFAULT_THROTTLE_RATES["orders"] when set, else `default_rate`.
    """

    scope = "orders"
    default_rate = "30/minute"

    def get_rate(self) -> str:
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope) or self.default_rate
