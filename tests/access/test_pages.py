"""Every page x role: who may read it and who may change through it, one table per area.

Columns: anonymous, rep (owner of the lead/opportunity/notification), other rep, marketing, admin,
an integration key of another source (which pages ignore: it is not a login).
"""

from __future__ import annotations

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from leads.models import DefinitionApproval
from routing.models import Rejection
from scoring.definitions import definition_approve
from tests.access.table import Row, check_row, form_as_shown, row

TOMORROW = (timezone.localdate() + datetime.timedelta(days=30)).isoformat()
TODAY = timezone.localdate().isoformat()

# Each row's answers: anonymous, rep, other rep, marketing, admin, key (see tests/access/table.py).
# fmt: off
SITE = [
    row("healthz", "GET", "/healthz", "200 200 200 200 200 200"),
    row("login", "GET", "/login/", "200 302 302 302 302 200"),
    # Signing in as someone while signed in already changes nothing: the page just sends you home.
    row("login", "POST", "/login/", "302 =302 =302 =302 =302 302",
        data={"username": "rick", "password": "correct-horse-battery"}),
    row("logout", "GET", "/logout/", "405 405 405 405 405 405"),
    # Signing out ends the session (not a watched table) and shows the login page.
    row("logout", "POST", "/logout/", "L L L L L L"),
    row("home", "GET", "/", "L 302 302 302 302 L"),
]
# fmt: on

# fmt: off
LEADS = [
    row("leads:inbox", "GET", "/leads/", "L 403 403 200 200 L"),
    row("leads:export", "GET", "/leads/export/", "L 403 403 200 200 L"),
    row("leads:detail", "GET", "/leads/{sal}/", "L 200 404 200 200 L"),
    # Marketing sees the rep's lead but moves only unowned ones.
    row("leads:stage", "POST", "/leads/{sal}/stage/", "L 302 404 403 302 L",
        data={"stage": "nurture", "reason": "Budget next year"}),
    row("leads:convert", "POST", "/leads/{sal}/convert/", "L 302 404 403 302 L",
        data={"name": "Deal", "amount": "5000", "expected_close_on": TOMORROW}),
    row("leads:opportunity_edit", "POST", "/opportunities/{opportunity}/edit/", "L 302 404 403 302 L",
        data={"name": "Bigger deal", "amount": "15000", "expected_close_on": TOMORROW}),
    row("leads:opportunity_close", "POST", "/opportunities/{opportunity}/close/", "L 302 404 403 302 L",
        data={"outcome": "won", "amount": "12000", "closed_on": TODAY}),
    row("leads:bulk", "POST", "/leads/bulk/", "L 403 403 302 302 L",
        data=lambda w: {"action": "qualify", "lead": [w.ids["new"]], "query": ""}),
    row("leads:saved_view_new", "POST", "/leads/views/", "L 403 403 302 302 L",
        data={"name": "Fresh MQLs", "query": "stage=mql"}),
    # A saved view is its owner's (marketing's) to delete: anyone else's is not there (404).
    row("leads:saved_view_delete", "POST", "/leads/views/{saved_view}/delete/", "L 403 403 302 404 L"),
    row("leads:audit", "GET", "/audit/", "L 403 403 403 200 L"),
    row("leads:audit_csv", "GET", "/audit/export.csv", "L 403 403 403 200 L"),
    row("leads:reasons", "GET", "/reasons/", "L 403 403 403 200 L"),
    row("leads:reasons", "POST", "/reasons/", "L 403 403 403 302 L", data={"kind": "lost", "label": "Chose a rival"}),
    row("leads:reason_edit", "POST", "/reasons/{reason}/", "L 403 403 403 302 L",
        data={"label": "Went silent", "position": "3", "is_active": "on"}),
]
# fmt: on


def _csv(_world):
    return {
        "file": SimpleUploadedFile("expo.csv", b"email,first_name\nbo@expo.example,Bo\n", content_type="text/csv"),
        "source": _world.web.pk,
    }


# fmt: off
IMPORTS = [
    row("leads:imports", "GET", "/imports/", "L 403 403 200 200 L"),
    row("leads:import_new", "GET", "/imports/new/", "L 403 403 200 200 L"),
    row("leads:import_new", "POST", "/imports/new/", "L 403 403 302 302 L", data=_csv),
    row("leads:import_detail", "GET", "/imports/{import_job}/", "L 403 403 200 200 L"),
    row("leads:import_detail", "POST", "/imports/{import_job}/", "L 403 403 302 302 L",
        data=lambda w: {"column_0": "email", "column_1": "first_name", "campaign": ""}),
    row("leads:import_progress", "GET", "/imports/{import_job}/progress/", "L 403 403 200 200 L"),
    row("leads:import_errors", "GET", "/imports/{import_job}/errors.csv", "L 403 403 200 200 L"),
    row("leads:import_discard", "POST", "/imports/{import_job}/discard/", "L 403 403 302 302 L"),
]
# fmt: on

# fmt: off
QUEUE = [
    row("routing:queue", "GET", "/queue/", "L 200 200 403 403 L"),
    row("routing:appetite", "POST", "/queue/appetite/", "L 302 302 403 403 L",
        data={"min_score": "40", "is_available": "on", "out_of_office_from": "", "out_of_office_until": ""}),
    row("routing:claim", "POST", "/queue/claim/{free}/", "L 302 302 403 403 L"),
    row("routing:accept", "POST", "/queue/accept/{mql}/", "L 302 404 403 403 L"),
    row("routing:reject", "POST", "/queue/reject/{mql}/", "L 302 404 403 403 L",
        data={"reason": Rejection.Reason.NOT_A_FIT, "note": "Too small"}),
    row("routing:notifications", "GET", "/notifications/", "L 200 200 200 200 L"),
    # The notification is the rep's: marking it read as anyone else changes nothing.
    row("routing:notifications_read", "POST", "/notifications/read/", "L 302 =302 =302 =302 L",
        data=lambda w: {"id": w.ids["notification"]}),
]
# fmt: on


def _rep_form(world):
    edit = "/reps/{rep_profile}/edit/".format(**world.ids)
    return form_as_shown(world.clients["admin"], edit, "") | {"max_open_leads": "30"}


def _territory_form(world):
    return form_as_shown(world.clients["admin"], "/territories/east/edit/", "") | {"name": "East coast"}


def _new_territory_form(world):
    data = form_as_shown(world.clients["admin"], "/territories/new/", "")
    return data | {"name": "West", "slug": "west", "countries": "CA", "priority": "5"}


# fmt: off
TERRITORIES = [
    row("routing:territories", "GET", "/territories/", "L 403 403 200 200 L"),
    row("routing:territory_new", "GET", "/territories/new/", "L 403 403 403 200 L"),
    row("routing:territory_new", "POST", "/territories/new/", "L 403 403 403 302 L", data=_new_territory_form),
    row("routing:route_test", "GET", "/territories/test/?lead={sal}", "L 403 403 200 200 L"),
    row("routing:territory_edit", "GET", "/territories/{territory}/edit/", "L 403 403 403 200 L"),
    row("routing:territory_edit", "POST", "/territories/{territory}/edit/", "L 403 403 403 302 L",
        data=_territory_form),
    row("routing:territory_delete", "POST", "/territories/{territory}/delete/", "L 403 403 403 302 L"),
    row("routing:reps", "GET", "/reps/", "L 403 403 200 200 L"),
    # Only admins edit a rep's capacity here; a rep changes their own appetite on the queue page.
    row("routing:rep_edit", "GET", "/reps/{rep_profile}/edit/", "L 403 403 403 200 L"),
    row("routing:rep_edit", "POST", "/reps/{rep_profile}/edit/", "L 403 403 403 302 L", data=_rep_form),
]
# fmt: on


def _edited_draft(world):
    edit = "/definition/{draft}/edit/".format(**world.ids)
    return form_as_shown(world.clients["admin"], edit, edit) | {"note": "Tuned"}


def _sales_side_approved(world) -> None:
    """The sales side approved the draft already, so the admin's (marketing side) approval completes it."""
    definition_approve(definition=world.draft, user=world.sales_admin, side=DefinitionApproval.Side.SALES, note="")


def _both_sides_approved(world) -> None:
    _sales_side_approved(world)
    definition_approve(definition=world.draft, user=world.admin, side=DefinitionApproval.Side.MARKETING, note="")


# fmt: off
DEFINITION = [
    row("scoring:definition", "GET", "/definition/", "L 200 200 200 200 L"),
    row("scoring:new", "POST", "/definition/new/", "L 403 403 403 302 L"),
    row("scoring:compare", "GET", "/definition/compare/?a=1&b={draft}", "L 200 200 200 200 L"),
    row("scoring:version", "GET", "/definition/{draft}/", "L 200 200 200 200 L"),
    row("scoring:edit", "GET", "/definition/{draft}/edit/", "L 403 403 403 200 L"),
    row("scoring:edit", "POST", "/definition/{draft}/edit/", "L 403 403 403 302 L", data=_edited_draft),
    # Without htmx the preview is shown on the version's page.
    row("scoring:preview", "GET", "/definition/{draft}/preview/", "L 302 302 302 302 L"),
    row("scoring:preview", "GET", "/definition/{draft}/preview/", "L 200 200 200 200 L",
        headers={"HX-Request": "true"}),
    row("scoring:preview", "POST", "/definition/{draft}/preview/", "L 403 403 403 302 L"),
    row("scoring:approve", "POST", "/definition/{draft}/approve/", "L 403 403 403 302 L",
        data={"side": "marketing", "note": "Fine by marketing"}),
    row("scoring:publish", "POST", "/definition/{draft}/publish/", "L 403 403 403 302 L", setup=_both_sides_approved),
    row("scoring:rescore", "GET", "/definition/1/rescore/", "L 302 302 302 302 L"),
    row("scoring:restore", "POST", "/definition/1/restore/", "L 403 403 403 302 L"),
]
# fmt: on

# fmt: off
DUPLICATES = [
    row("dedupe:queue", "GET", "/duplicates/", "L 403 403 200 200 L"),
    row("dedupe:job", "GET", "/duplicates/job/", "L 403 403 200 200 L"),
    row("dedupe:pair", "GET", "/duplicates/{pair}/", "L 403 403 200 200 L"),
    row("dedupe:merge", "POST", "/duplicates/{pair}/merge/", "L 403 403 302 302 L", data={"survivor": "a"}),
    row("dedupe:dismiss", "POST", "/duplicates/{pair}/dismiss/", "L 403 403 302 302 L"),
    # Undo from the review queue (the pair back for review) and from the lead page (not a duplicate).
    row("dedupe:merge_undo", "POST", "/duplicates/merges/{merge}/undo/", "L 403 403 302 302 L",
        data={"back": "review"}),
    row("dedupe:merge_undo", "POST", "/duplicates/merges/{merge}/undo/", "L 403 403 302 302 L"),
]
# fmt: on

# fmt: off
REPORTS = [
    row("reports:dashboard", "GET", "/reports/", "L 403 403 200 200 L"),
    row("reports:csv", "GET", "/reports/funnel.csv", "L 403 403 200 200 L"),
]
# fmt: on

PAGE_TABLES: dict[str, list[Row]] = {
    "site": SITE,
    "leads": LEADS,
    "imports": IMPORTS,
    "queue": QUEUE,
    "territories": TERRITORIES,
    "definition": DEFINITION,
    "duplicates": DUPLICATES,
    "reports": REPORTS,
}


@pytest.mark.parametrize("entry", [r for table in PAGE_TABLES.values() for r in table], ids=lambda r: r.id)
def test_page_access(entry: Row, world, clients):
    problems = check_row(entry, world, clients)
    assert not problems, "\n".join(problems)
