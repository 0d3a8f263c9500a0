"""The Django admin: every one of its URLs sends anyone who is not staff to the admin's login, and changes nothing.

LeadFlow's roles are not staff: an admin of the app works in its pages, the Django admin is for superusers.
The rows are made from the admin's own URLconf, so a newly registered model is covered without an entry.
"""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import resolve

from tests.access.table import ADMIN, ANON, ROLES, Row, check_row, row
from tests.access.test_coverage import url_patterns

DUMMY = {"object_id": "1", "app_label": "leads", "content_type_id": "1", "url": "nowhere/"}
#: The admin's own login (it answers everyone, naming a non-staff user's problem) and logout (a redirect).
OWN = {"admin:login": "200 200 200 200 200 200", "admin:logout": "302 302 302 302 302 302"}


def _path(route: str) -> str:
    path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: DUMMY.get(m.group(1), "1"), route)
    path = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: DUMMY.get(m.group(1), "1"), path)
    return "/" + path.replace("^", "").replace("$", "")


#: Being staff is all the admin asks, and no role makes anyone staff: past its front page (every role),
#: each URL is sent by the visitor and by the app's own admin, the strongest user who is not staff.
SAMPLE = (ANON, ADMIN)


def admin_rows() -> list[Row]:
    rows = []
    for name, route, _ in url_patterns():
        if not route.startswith("admin/"):
            continue
        path = _path(route)
        name = resolve(path).view_name  # the catch-all has no name of its own
        roles = ROLES if name in ("admin:index", *OWN) else SAMPLE
        rows.append(row(name, "GET", path, OWN.get(name, "AL AL AL AL AL AL"), roles=roles))
        if name.endswith(("_add", "_change", "_delete")):
            rows.append(row(name, "POST", path, "AL AL AL AL AL AL", data={"name": "x", "post": "yes"}, roles=SAMPLE))
    return rows


@pytest.mark.parametrize("entry", admin_rows(), ids=lambda r: f"{r.method} {r.path}")
def test_admin_site_access(entry: Row, world, clients):
    problems = check_row(entry, world, clients)
    assert not problems, "\n".join(problems)


def test_a_superuser_opens_the_admin(world, db):
    staff = Client()
    staff.force_login(world.root)
    assert staff.get("/admin/").status_code == 200
    assert staff.get("/admin/leads/lead/").status_code == 200
