"""The access table's machinery: roles, expected answers, and checking one row for every role.

A row names a URL (by its URLconf name, so a renamed or new URL shows up), a method, the path with
``{placeholders}`` filled from the test world, the data a request sends (valid for the roles that may
act) and the answer each role gets, in the column order of ``ROLES``:

    anonymous, rep (owner of the object), other rep, marketing, admin, key (an integration key of
    another source than the object's)

An answer is a status code, ``LOGIN`` (302 to the login page) or ``ADMIN_LOGIN`` (302 to the admin's).
A refused request (``LOGIN``, 401, 403, 404, 405) must leave the database exactly as it was; an allowed
write (2xx or 3xx on POST, PUT, PATCH, DELETE) must change it, unless the row says ``writes=False``
(a dry run). Every role's request runs in a savepoint rolled back afterwards, so each sees the same world.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

from django.db import connection, transaction
from django.test import Client
from django.urls import resolve


@dataclass(frozen=True)
class Same:
    """An answer that must change nothing: allowed in form, but this role has nothing there to change."""

    status: int


ANON, REP, OTHER, MKT, ADMIN, KEY = ROLES = ("anonymous", "rep", "other_rep", "marketing", "admin", "key")
LOGIN = "login"
ADMIN_LOGIN = "admin-login"
REFUSED = frozenset({LOGIN, ADMIN_LOGIN, 401, 403, 404, 405})
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: Tables a refused request may still touch: the session (the test client's own bookkeeping).
UNWATCHED_TABLES = frozenset({"django_session", "django_migrations"})

Data = Mapping[str, Any] | Callable[[Any], Mapping[str, Any]] | None


@dataclass(frozen=True)
class Row:
    name: str  # the URL's name as ``reverse`` takes it ("leads:detail", "lead-stage")
    method: str
    path: str  # with ``{placeholders}`` from the world's ids
    answers: tuple[Any, Any, Any, Any, Any, Any]  # one per role, in ROLES order
    data: Data = None
    writes: bool = True  # an allowed unsafe request changes the database
    api: bool = False  # send data as JSON (else as a form post)
    headers: Mapping[str, str] = field(default_factory=dict)
    setup: Callable[[Any], None] | None = None  # runs inside each role's savepoint, before the request
    roles: tuple[str, ...] = ROLES  # the roles sent (all, unless the rest are the same case by construction)

    def __post_init__(self) -> None:
        assert len(self.answers) == len(ROLES), f"{self.name}: one answer per role {ROLES}"

    @property
    def id(self) -> str:
        return f"{self.method} {self.name}" + (" htmx" if "HX-Request" in self.headers else "")

    def url(self, world: Any) -> str:
        return self.path.format(**world.ids)

    def payload(self, world: Any) -> Mapping[str, Any] | None:
        return self.data(world) if callable(self.data) else self.data


#: What an API call without credentials gets: 401 (token authentication comes first, so it can ask for one).
NO_CREDENTIALS = 401
_WORDS = {"L": LOGIN, "AL": ADMIN_LOGIN, "NO": NO_CREDENTIALS}


def answers(text: str) -> tuple[Any, ...]:
    """``"L 200 404 =302 NO AL"``: L login page, AL the admin's login page, NO the API's answer without
    credentials, ``=302`` a 302 that must change nothing, else a status code; one word per role."""
    return tuple(
        _WORDS[word] if word in _WORDS else Same(int(word[1:])) if word.startswith("=") else int(word)
        for word in text.split()
    )


def row(name: str, method: str, path: str, text: str, **options: Any) -> Row:
    return Row(name, method, path, answers(text), **options)


def api(name: str, method: str, path: str, text: str, **options: Any) -> Row:
    return Row(name, method, path, answers(text), api=True, **options)


def db_fingerprint() -> dict[str, str]:
    """Every watched table's row count and a hash of all its rows: equal means nothing was written."""
    tables = sorted(set(connection.introspection.table_names()) - UNWATCHED_TABLES)
    quote = connection.ops.quote_name
    sql = " UNION ALL ".join(
        f"SELECT '{table}', count(*)::text || ':' || md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) "
        f"FROM {quote(table)} t"
        for table in tables
    )
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return dict(cursor.fetchall())


def send(client: Client, row: Row, world: Any, *, headers: Mapping[str, str] | None = None) -> Any:
    url = row.url(world)
    payload = row.payload(world)
    method = getattr(client, row.method.lower())
    extra = {**row.headers, **(headers or {})}
    if row.method in ("GET", "HEAD"):
        return method(url, payload or {}, headers=extra)
    if row.api:
        return method(url, payload or {}, content_type="application/json", headers=extra)
    if row.method == "POST":
        return method(url, payload or {}, headers=extra)
    # Forms only POST; other methods on a page carry an urlencoded body.
    return method(url, "", content_type="application/x-www-form-urlencoded", headers=extra)


def outcome(response: Any) -> Any:
    """The answer as the table writes it."""
    if response.status_code == 302:
        location = response.headers.get("Location", "")
        if location.startswith("/admin/login/"):
            return ADMIN_LOGIN
        if location.startswith("/login/"):
            return LOGIN
    return response.status_code


def send_once(
    client: Client, row: Row, world: Any, *, headers: Mapping[str, str] | None = None
) -> tuple[Any, list[str]]:
    """Send ``row`` in a savepoint rolled back afterwards: its answer and the tables it changed."""
    cookies = copy.deepcopy(client.cookies)  # logging in or out must not carry over to the next request
    with transaction.atomic():
        if row.setup is not None:
            row.setup(world)
        # Reads are not fingerprinted (a GET never writes here, and it halves the run).
        before = db_fingerprint() if row.method in UNSAFE else {}
        response = send(client, row, world, headers=headers)
        after = db_fingerprint() if row.method in UNSAFE else {}
        transaction.set_rollback(True)
    client.cookies = cookies
    return response, sorted(table for table in after if after[table] != before.get(table))


def check_row(row: Row, world: Any, clients: Mapping[str, Client]) -> list[str]:
    """Send ``row`` as every role; the mismatches, in words (empty when the row holds)."""
    url = row.url(world)
    assert resolve(url.split("?")[0]).view_name == row.name, f"{url} is not {row.name}"
    problems: list[str] = []
    for role, expected in zip(ROLES, row.answers, strict=True):
        if role not in row.roles:
            continue
        headers = world.key_headers if role == KEY else None
        response, changed = send_once(clients[role], row, world, headers=headers)
        got = outcome(response)
        must_not_change = got in REFUSED
        if isinstance(expected, Same):
            expected, must_not_change = expected.status, True
        if got != expected:
            body = response.content[:300].decode(errors="replace") if not response.streaming else ""
            problems.append(f"{role}: {row.method} {url} answered {got}, expected {expected}. {body}")
            continue
        if must_not_change and changed:
            problems.append(f"{role}: {row.method} {url} answered {got} but changed {changed}")
        elif row.method in UNSAFE and not must_not_change and got < 400 and row.writes and not changed:
            problems.append(f"{role}: {row.method} {url} was allowed ({got}) but changed nothing")
    return problems


@dataclass
class World:
    """The objects every row points at, and their ids for the paths."""

    ids: dict[str, Any] = field(default_factory=dict)
    key_headers: dict[str, str] = field(default_factory=dict)
    objects: dict[str, Any] = field(default_factory=dict)

    def __getattr__(self, name: str) -> Any:
        try:
            return self.__dict__["objects"][name]
        except KeyError:
            raise AttributeError(name) from None


class _FormFields(HTMLParser):
    """The fields of the form posting to ``action``, as a browser would send them unchanged."""

    def __init__(self, action: str) -> None:
        super().__init__()
        self.action, self.inside = action, False
        self.fields: list[tuple[str, str]] = []
        self.select: dict[str, Any] | None = None
        self.textarea: str | None = None
        self._text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.inside = a.get("action", "") == self.action
        elif not self.inside or "disabled" in a:
            return
        elif tag == "input" and a.get("name") and a.get("type") not in ("submit", "button", "file"):
            if a.get("type") not in ("checkbox", "radio") or "checked" in a:
                self.fields.append((a["name"], a.get("value", "")))
        elif tag == "select" and a.get("name"):
            self.select = {"name": a["name"], "multiple": "multiple" in a, "first": None, "chosen": []}
        elif tag == "option" and self.select is not None:
            if self.select["first"] is None:
                self.select["first"] = a.get("value", "")
            if "selected" in a:
                self.select["chosen"].append(a.get("value", ""))
        elif tag == "textarea" and a.get("name"):
            self.textarea, self._text = a["name"], ""

    def handle_data(self, data: str) -> None:
        if self.textarea is not None:
            self._text += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False
        elif tag == "select" and self.select is not None:
            chosen = self.select["chosen"]
            if not chosen and not self.select["multiple"] and self.select["first"] is not None:
                chosen = [self.select["first"]]
            self.fields.extend((self.select["name"], value) for value in chosen)
            self.select = None
        elif tag == "textarea" and self.textarea is not None:
            self.fields.append((self.textarea, self._text.removeprefix("\n")))
            self.textarea = None


def form_as_shown(client: Client, page: str, action: str) -> dict[str, Any]:
    """What the form posting to ``action`` on ``page`` sends if submitted as shown (lists for repeated names)."""
    response = client.get(page)
    assert response.status_code == 200, (page, response.status_code)
    parser = _FormFields(action)
    parser.feed(response.content.decode())
    data: dict[str, Any] = {}
    for name, value in parser.fields:
        if name == "csrfmiddlewaretoken":  # the sender brings its own (or, testing CSRF, none)
            continue
        data.setdefault(name, []).append(value)
    assert data, f"no form posting to {action} on {page}"
    return {name: values if len(values) > 1 else values[0] for name, values in data.items()}
