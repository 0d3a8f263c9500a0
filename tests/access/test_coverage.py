"""The tables cover the whole URLconf: a URL without a row (or a method a view answers without one) fails here."""

from __future__ import annotations

from collections.abc import Iterator

from django.urls import URLPattern, URLResolver, get_resolver

from tests.access.test_api import API_TABLES
from tests.access.test_pages import PAGE_TABLES

ALL_ROWS = [r for tables in (PAGE_TABLES, API_TABLES) for table in tables.values() for r in table]


def url_patterns(resolver: URLResolver | None = None, namespace: str = "", prefix: str = "") -> Iterator[tuple]:
    """(name with namespace, route, view callback) of every pattern, walking includes."""
    for entry in (resolver or get_resolver()).url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from url_patterns(entry, inner, route)
        elif isinstance(entry, URLPattern):
            yield (f"{namespace}{entry.name}" if entry.name else None), route, entry.callback


def test_every_url_has_a_row_in_the_access_table():
    covered = {r.name for r in ALL_ROWS}
    missing = sorted(
        {name or route for name, route, _ in url_patterns() if not route.startswith("admin/") and name not in covered}
    )
    assert missing == [], f"URLs with no row in tests/access (add one to the area's table): {missing}"


def test_every_row_names_a_url_that_exists():
    names = {name for name, _, _ in url_patterns()}
    assert sorted({r.name for r in ALL_ROWS} - names) == []


def test_every_method_an_api_view_answers_has_a_row():
    """DRF views say which methods they answer; each needs a row (405s included, for the PUTs and DELETEs)."""
    rows = {(r.name, r.method) for r in ALL_ROWS}
    missing = []
    for name, route, callback in url_patterns():
        cls = getattr(callback, "cls", None)
        if name is None or cls is None or route.startswith("admin/"):
            continue
        actions = getattr(callback, "actions", None) or {m: m for m in cls.http_method_names if hasattr(cls, m)}
        methods = {m.upper() for m in actions if m in cls.http_method_names} & {"GET", "POST", "PUT", "PATCH", "DELETE"}
        missing += [f"{method} {name} ({route})" for method in sorted(methods) if (name, method) not in rows]
    assert sorted(set(missing)) == []
