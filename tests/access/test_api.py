"""Every API endpoint x role: what each may read and change, one table per area.

Columns: anonymous, rep (owner of the lead/opportunity/notification/profile), other rep, marketing,
admin, and an integration key of another source (``X-Source-Key``; it opens the intake endpoints only,
and there only for its own source's submissions and leads). ``NO`` is what a call without credentials gets
(``table.NO_CREDENTIALS``).
"""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from reports.api.views import REPORT_VIEWS
from tests.access.table import Row, api, check_row

IN_A_MONTH = (timezone.localdate() + datetime.timedelta(days=30)).isoformat()

# Each row's answers: anonymous, rep, other rep, marketing, admin, key (see tests/access/table.py).
# fmt: off
ROOT = [
    api("api-root", "GET", "/api/", "NO 200 200 200 200 NO"),
    api("api-schema", "GET", "/api/schema/", "200 200 200 200 200 200"),
    api("api-docs", "GET", "/api/docs/", "200 200 200 200 200 200"),
    # Trading a password for a token: open to anyone who has the password (the token exists: no write).
    api("api-token", "POST", "/api/auth/token/", "200 200 200 200 200 200",
        writes=False,
        data={"username": "rick", "password": "correct-horse-battery"}),
    # Rotating is the signed-in user's own token: a new one for each (the rep's old one stops working).
    api("api-token-rotate", "POST", "/api/auth/token/rotate/", "NO 200 200 200 200 NO"),
]
# fmt: on

# fmt: off
INTAKE = [
    api("intake", "POST", "/api/intake/", "401 401 401 401 401 202",
        data={"email": "pat@newco.example", "first_name": "Pat", "company": "NewCo"}),
    # The submission came from the web form: another source's key does not find it.
    api("intake-status", "GET", "/api/intake/{submission}/", "401 401 401 401 401 404"),
    # A source's key reports activities on its own source's leads only: the web form's lead is not found...
    api("activity-events", "POST", "/api/activities/", "401 401 401 401 401 404",
        data=lambda w: {"email": w.mql.email, "kind": "page_visit", "subject": "Pricing"}),
    # ...the lead the key's own source sent in is.
    api("activity-events", "POST", "/api/activities/", "401 401 401 401 401 202",
        data=lambda w: {"email": w.partner_lead.email, "kind": "page_visit", "subject": "Pricing"}),
]
# fmt: on

# fmt: off
LEADS = [
    api("lead-list", "GET", "/api/leads/", "NO 200 200 200 200 NO"),
    api("lead-list", "POST", "/api/leads/", "NO 403 403 202 202 NO",
        data={"source": "web", "email": "new@person.example", "first_name": "New"}),
    api("lead-detail", "GET", "/api/leads/{sal}/", "NO 200 404 200 200 NO"),
    api("lead-detail", "PATCH", "/api/leads/{sal}/", "NO 200 404 200 200 NO", data={"title": "CTO"}),
    api("lead-detail", "PUT", "/api/leads/{sal}/", "NO 405 405 405 405 NO", data={"title": "CTO"}),
    api("lead-detail", "DELETE", "/api/leads/{sal}/", "NO 405 405 405 405 NO"),
    api("lead-stage", "POST", "/api/leads/{sal}/stage/", "NO 200 404 403 200 NO",
        data={"stage": "nurture", "reason": "Budget next year"}),
    api("lead-claim", "POST", "/api/leads/{free}/claim/", "NO 200 200 403 403 NO"),
    api("lead-accept", "POST", "/api/leads/{mql}/accept/", "NO 200 404 403 403 NO"),
    api("lead-reject", "POST", "/api/leads/{mql}/reject/", "NO 200 404 403 403 NO",
        data={"reason": "not_a_fit", "note": "Too small"}),
    api("lead-reassign", "POST", "/api/leads/{mql}/reassign/", "NO 403 403 200 200 NO",
        data=lambda w: {"rep": w.other_rep.pk, "reason": "Rick is away"}),
    api("lead-activities", "GET", "/api/leads/{sal}/activities/", "NO 200 404 200 200 NO"),
    api("lead-activities", "POST", "/api/leads/{sal}/activities/", "NO 201 404 201 201 NO",
        data={"kind": "note", "subject": "Called"}),
    api("lead-stage-changes", "GET", "/api/leads/{sal}/stage-changes/", "NO 200 404 200 200 NO"),
    api("lead-duplicates", "GET", "/api/leads/{sal}/duplicates/", "NO 200 404 200 200 NO"),
    api("lead-merge", "POST", "/api/leads/{new}/merge/", "NO 403 403 201 201 NO",
        data=lambda w: {"other": w.ids["twin"]}),
    api("lead-convert", "POST", "/api/leads/{sal}/convert/", "NO 201 404 403 201 NO",
        data={"amount": "5000", "expected_close_on": IN_A_MONTH}),
    api("lead-export", "GET", "/api/leads/export.csv", "NO 200 200 200 200 NO"),
]
# fmt: on

# fmt: off
DEALS = [
    api("opportunity-list", "GET", "/api/opportunities/", "NO 200 200 200 200 NO"),
    api("opportunity-detail", "GET", "/api/opportunities/{opportunity}/", "NO 200 404 200 200 NO"),
    api("opportunity-detail", "PATCH", "/api/opportunities/{opportunity}/", "NO 200 404 403 200 NO",
        data={"amount": "20000"}),
    api("opportunity-detail", "PUT", "/api/opportunities/{opportunity}/", "NO 405 405 403 405 NO",
        data={"amount": "20000"}),
    api("opportunity-close", "POST", "/api/opportunities/{opportunity}/close/", "NO 200 404 403 200 NO",
        data={"outcome": "won", "amount": "12000"}),
    api("reason-list", "GET", "/api/reasons/", "NO 200 200 200 200 NO"),
    api("reason-list", "POST", "/api/reasons/", "NO 403 403 403 201 NO",
        data={"kind": "lost", "label": "Chose a rival"}),
    api("reason-detail", "GET", "/api/reasons/{reason}/", "NO 200 200 200 200 NO"),
    api("reason-detail", "PATCH", "/api/reasons/{reason}/", "NO 403 403 403 200 NO", data={"label": "Silent"}),
    api("reason-detail", "DELETE", "/api/reasons/{reason}/", "NO 405 405 405 405 NO"),
]
# fmt: on

# fmt: off
REFERENCE = [
    api("account-list", "GET", "/api/accounts/", "NO 200 200 200 200 NO"),
    api("account-list", "POST", "/api/accounts/", "NO 403 403 201 201 NO",
        data={"name": "Globex", "domain": "globex.example"}),
    api("account-detail", "GET", "/api/accounts/{account}/", "NO 200 200 200 200 NO"),
    api("account-detail", "PATCH", "/api/accounts/{account}/", "NO 403 403 200 200 NO", data={"industry": "retail"}),
    api("account-detail", "PUT", "/api/accounts/{account}/", "NO 403 403 200 200 NO",
        data={"name": "Globex", "domain": "globex.example"}),
    api("account-detail", "DELETE", "/api/accounts/{account}/", "NO 405 405 405 405 NO"),
    api("contact-list", "GET", "/api/contacts/", "NO 200 200 200 200 NO"),
    # Contacts: everyone reads them; marketing and admins add and change any, a rep only at the accounts
    # (and on the leads and deals) they own: the world's account is the rep's.
    api("contact-list", "POST", "/api/contacts/", "NO 201 403 201 201 NO",
        data=lambda w: {"account": w.account.pk, "first_name": "Jo", "last_name": "Doe", "email": "jo@x.example"}),
    api("contact-detail", "GET", "/api/contacts/{contact}/", "NO 200 200 200 200 NO"),
    api("contact-detail", "PATCH", "/api/contacts/{contact}/", "NO 200 403 200 200 NO", data={"first_name": "Jo"}),
    api("contact-detail", "PUT", "/api/contacts/{contact}/", "NO 200 403 200 200 NO",
        data=lambda w: {"account": w.account.pk, "first_name": "Jo", "last_name": "Doe", "email": "jo@x.example"}),
    api("contact-detail", "DELETE", "/api/contacts/{contact}/", "NO 405 405 405 405 NO"),
    api("source-list", "GET", "/api/sources/", "NO 200 200 200 200 NO"),
    api("source-list", "POST", "/api/sources/", "NO 403 403 201 201 NO", data={"name": "Fair", "slug": "fair"}),
    api("source-detail", "GET", "/api/sources/{source}/", "NO 200 200 200 200 NO"),
    api("source-detail", "PATCH", "/api/sources/{source}/", "NO 403 403 200 200 NO", data={"name": "Website"}),
    api("source-detail", "PUT", "/api/sources/{source}/", "NO 403 403 200 200 NO",
        data={"name": "Website", "slug": "web"}),
    api("source-detail", "DELETE", "/api/sources/{source}/", "NO 405 405 405 405 NO"),
    api("source-rotate-key", "POST", "/api/sources/{source}/rotate-key/", "NO 403 403 200 200 NO"),
    api("campaign-list", "GET", "/api/campaigns/", "NO 200 200 200 200 NO"),
    api("campaign-list", "POST", "/api/campaigns/", "NO 403 403 201 201 NO",
        data={"source": "web", "name": "Autumn", "slug": "autumn", "cost": "100"}),
    api("campaign-detail", "GET", "/api/campaigns/{campaign}/", "NO 200 200 200 200 NO"),
    api("campaign-detail", "PATCH", "/api/campaigns/{campaign}/", "NO 403 403 200 200 NO", data={"cost": "50"}),
    api("campaign-detail", "PUT", "/api/campaigns/{campaign}/", "NO 403 403 200 200 NO",
        data={"source": "web", "name": "Spring", "slug": "spring", "cost": "50"}),
    api("campaign-detail", "DELETE", "/api/campaigns/{campaign}/", "NO 405 405 405 405 NO"),
    api("leaddefinition-list", "GET", "/api/lead-definitions/", "NO 200 200 200 200 NO"),
    api("leaddefinition-list", "POST", "/api/lead-definitions/", "NO 405 405 405 405 NO", data={"note": "x"}),
    api("leaddefinition-detail", "GET", "/api/lead-definitions/1/", "NO 200 200 200 200 NO"),
    api("leaddefinition-detail", "PATCH", "/api/lead-definitions/{draft}/", "NO 405 405 405 405 NO",
        data={"note": "x"}),
    api("auditevent-list", "GET", "/api/audit-events/", "NO 403 403 403 200 NO"),
    api("auditevent-detail", "GET", "/api/audit-events/{audit_event}/", "NO 403 403 403 200 NO"),
]
# fmt: on

# fmt: off
ROUTING = [
    api("queue", "GET", "/api/queue/", "NO 200 200 403 403 NO"),
    api("routing-test", "POST", "/api/routing/test/", "NO 403 403 200 200 NO",
        writes=False,
        data=lambda w: {"lead": w.ids["sal"]}),
    api("territory-list", "GET", "/api/territories/", "NO 200 200 200 200 NO"),
    api("territory-list", "POST", "/api/territories/", "NO 403 403 403 201 NO",
        data={"name": "West", "slug": "west", "countries": ["CA"]}),
    api("territory-detail", "GET", "/api/territories/{territory}/", "NO 200 200 200 200 NO"),
    api("territory-detail", "PATCH", "/api/territories/{territory}/", "NO 403 403 403 200 NO",
        data={"name": "East coast"}),
    api("territory-detail", "PUT", "/api/territories/{territory}/", "NO 403 403 403 200 NO",
        data={"name": "East coast", "slug": "east", "countries": ["US"]}),
    api("territory-detail", "DELETE", "/api/territories/{territory}/", "NO 403 403 403 204 NO"),
    api("rep-list", "GET", "/api/reps/", "NO 200 200 200 200 NO"),
    api("rep-detail", "GET", "/api/reps/{rep_profile}/", "NO 200 200 200 200 NO"),
    # A rep changes their own appetite; only admins change anyone's.
    api("rep-detail", "PATCH", "/api/reps/{rep_profile}/", "NO 200 403 403 200 NO", data={"min_score": 40}),
    api("rep-detail", "PUT", "/api/reps/{rep_profile}/", "NO 405 405 405 405 NO", data={"min_score": 40}),
    api("overflow-list", "GET", "/api/overflow/", "NO 403 403 200 200 NO"),
    api("overflow-claim", "POST", "/api/overflow/{free}/claim/", "NO 200 200 403 403 NO"),
    api("notification-list", "GET", "/api/notifications/", "NO 200 200 200 200 NO"),
    # The notification is the rep's: nobody else finds it.
    api("notification-read", "POST", "/api/notifications/{notification}/read/", "NO 200 404 404 404 NO"),
    api("notification-read-all", "POST", "/api/notifications/read-all/", "NO 200 =200 =200 =200 NO"),
]
# fmt: on

# fmt: off
DEDUPE = [
    api("merge-list", "GET", "/api/merges/", "NO 200 200 200 200 NO"),
    # The merged leads are unowned and not MQLs: hidden from reps.
    api("merge-detail", "GET", "/api/merges/{merge}/", "NO 404 404 200 200 NO"),
    api("merge-undo", "POST", "/api/merges/{merge}/undo/", "NO 403 403 200 200 NO"),
    api("duplicatecandidate-list", "GET", "/api/duplicates/", "NO 403 403 200 200 NO"),
    api("duplicatecandidate-detail", "GET", "/api/duplicates/{pair}/", "NO 403 403 200 200 NO"),
    api("duplicatecandidate-merge", "POST", "/api/duplicates/{pair}/merge/", "NO 403 403 201 201 NO",
        data=lambda w: {"survivor": w.pair.lead_a_id}),
    api("duplicatecandidate-dismiss", "POST", "/api/duplicates/{pair}/dismiss/", "NO 403 403 200 200 NO"),
]
# fmt: on

# fmt: off
REPORTS = [api(f"report-{name}", "GET", f"/api/reports/{name}/", "NO 403 403 200 200 NO") for name in REPORT_VIEWS]

API_TABLES: dict[str, list[Row]] = {
    "root": ROOT,
    "intake": INTAKE,
    "leads": LEADS,
    "deals": DEALS,
    "reference": REFERENCE,
    "routing": ROUTING,
    "dedupe": DEDUPE,
    "reports": REPORTS,
}


@pytest.mark.parametrize("entry", [r for table in API_TABLES.values() for r in table], ids=lambda r: r.id)
def test_api_access(entry: Row, world, clients):
    problems = check_row(entry, world, clients)
    assert not problems, "\n".join(problems)
