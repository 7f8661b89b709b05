"""Served lists: for you, similar, bought together."""

urlpatterns: list = []
