"""Helpers for the admin tests: count a page's queries, resubmit a rendered form."""

import io
from collections.abc import Callable
from html.parser import HTMLParser

from django.db import connection
from django.test.utils import CaptureQueriesContext
from PIL import Image


def png_bytes(seed: int = 0) -> bytes:
    """Return a small PNG, 40 + seed pixels wide; each seed gives another checksum."""
    buffer = io.BytesIO()
    Image.new("RGB", (40 + seed, 30), (200, 30, 30)).save(buffer, "PNG")
    return buffer.getvalue()


def count_queries(client, url: str) -> tuple[int, object]:
    """GET a page that must render, and return its number of queries and response."""
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return len(queries), response


def assert_queries_do_not_grow(
    client, url: str, add_rows: Callable[[int], object], few: int = 3, many: int = 30
) -> object:
    """Assert a page runs as many queries with `many` rows as with `few`.

    The page is fetched once before measuring so that per-process caches (content
    types, sites) are warm in both measurements.
    """
    add_rows(few)
    client.get(url)
    with_few, _ = count_queries(client, url)
    add_rows(many - few)
    with_many, response = count_queries(client, url)
    assert with_many == with_few, f"{url}: {with_few} queries → {with_many}"
    return response


class _FormFields(HTMLParser):
    """Collect what a browser would submit from one <form> of a page."""

    def __init__(self, form_id: str):
        super().__init__(convert_charrefs=True)
        self.form_id = form_id
        self.in_form = False
        self.data: dict[str, list[str]] = {}
        self._select: str | None = None
        self._textarea: str | None = None

    def _add(self, name: str, value: str) -> None:
        self.data.setdefault(name, []).append(value)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.in_form = attrs.get("id") == self.form_id
        if not self.in_form or "disabled" in attrs:
            return
        name = attrs.get("name")
        if tag == "input" and name:
            kind = attrs.get("type", "text")
            if kind in ("submit", "button", "file", "image", "reset"):
                return
            if kind in ("checkbox", "radio") and "checked" not in attrs:
                return
            self._add(name, attrs.get("value", "on" if kind == "checkbox" else ""))
        elif tag == "select" and name:
            self._select = name
        elif tag == "option" and self._select and "selected" in attrs:
            self._add(self._select, attrs.get("value", ""))
        elif tag == "textarea" and name:
            self._textarea = name
            self._add(name, "")

    def handle_data(self, data):
        if self._textarea:
            self.data[self._textarea][-1] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self.in_form = False
        elif tag == "select":
            self._select = None
        elif tag == "textarea" and self._textarea:
            value = self.data[self._textarea][-1]
            self.data[self._textarea][-1] = value.removeprefix("\n")
            self._textarea = None


def form_data(response, form_id: str) -> dict[str, list[str] | str]:
    """Return the data a browser would post back from the page's form, unchanged."""
    parser = _FormFields(form_id)
    parser.feed(response.content.decode())
    assert parser.data, f"no form #{form_id} on the page"
    return {k: v[0] if len(v) == 1 else v for k, v in parser.data.items()}
