"""Public storefront pages (server-rendered)."""

urlpatterns: list = []
