"""Customer segments (staff)."""

urlpatterns: list = []
