"""CSRF: every form post and every session-authenticated API write is refused without a token.

Each unsafe row of the tables is sent by a signed-in admin through a client that enforces CSRF as a
browser's would: without the token it is a 403 and nothing is stored; with it, the table's answer (so the
missing token was the only reason). Source-key endpoints and the token exchange use no session and need no token.
"""

from __future__ import annotations

import pytest
from django.conf import settings
from django.http import HttpRequest
from django.middleware.csrf import get_token
from django.test import Client

from tests.access.table import ADMIN, ANON, KEY, ROLES, UNSAFE, Row, Same, outcome, send_once
from tests.access.test_coverage import ALL_ROWS

SOURCE_KEY_ONLY = {"intake", "activity-events"}
#: Trading a username and password for a token uses no session (it authenticates nobody by cookie), so a
#: forged cross-site post would need the password it carries: no CSRF check there, by design.
NO_SESSION = {*SOURCE_KEY_ONLY, "api-token"}
UNSAFE_ROWS = [r for r in ALL_ROWS if r.method in UNSAFE and r.name not in NO_SESSION]


def csrf_token(client: Client) -> dict[str, str]:
    """Put a CSRF cookie in ``client`` and return the header that goes with it, as the pages' JS sends it."""
    request = HttpRequest()
    token = get_token(request)
    client.cookies[settings.CSRF_COOKIE_NAME] = request.META["CSRF_COOKIE"]
    return {"X-CSRFToken": token}


def expected(entry: Row, role: str) -> object:
    answer = entry.answers[ROLES.index(role)]
    return answer.status if isinstance(answer, Same) else answer


@pytest.mark.parametrize("entry", UNSAFE_ROWS, ids=lambda r: r.id)
def test_writes_without_a_csrf_token_are_refused(entry: Row, world, db):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(world.admin)

    response, changed = send_once(browser, entry, world)
    assert (response.status_code, changed) == (403, [])

    response, _ = send_once(browser, entry, world, headers=csrf_token(browser))
    assert outcome(response) == expected(entry, ADMIN)


def test_the_login_form_needs_a_csrf_token_too(world, db):
    (login,) = [r for r in UNSAFE_ROWS if r.name == "login"]
    browser = Client(enforce_csrf_checks=True)

    response, changed = send_once(browser, login, world)
    assert (response.status_code, changed) == (403, [])

    response, changed = send_once(browser, login, world, headers=csrf_token(browser))
    assert outcome(response) == expected(login, ANON)
    assert "auth_user" in changed  # signed in: last_login


def test_source_key_writes_need_no_csrf_token(world, db):
    """An integration posts with its key and no cookie: CSRF does not apply (and no session is involved)."""
    # The rows where the key may write (a key finds nothing of another source's to report on: 404).
    for entry in [r for r in ALL_ROWS if r.name in SOURCE_KEY_ONLY and expected(r, KEY) == 202]:
        response, changed = send_once(Client(enforce_csrf_checks=True), entry, world, headers=world.key_headers)
        assert response.status_code == 202, entry.id
        assert changed
