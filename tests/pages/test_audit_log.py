"""The audit log: admins see and filter it in the browser and export it as CSV; nobody else does.
Every Django admin edit (a user's roles included) leaves an event with before and after."""

from __future__ import annotations

import csv
import io

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from leads.models import AuditEvent, Lead
from leads.services import audit_record
from tests.factories import LeadFactory, SourceFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(lf_admin) -> Client:
    client = Client()
    client.force_login(lf_admin)
    return client


@pytest.fixture
def superuser_client() -> Client:
    client = Client()
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    return client


def test_admins_see_the_audit_log_filtered_by_actor_action_object_and_date(admin_client, lf_admin, marketer):
    lead = LeadFactory()
    audit_record(actor=marketer, action="lead.update", obj=lead, changes={"city": ["", "Paris"]}, ip_address="10.1.1.1")
    audit_record(actor=lf_admin, action="source.update", obj=lead.source, changes={"trust": [50, 80]})

    everything = admin_client.get("/audit/")
    by_actor = admin_client.get("/audit/", {"actor": "mara"})
    by_action = admin_client.get("/audit/", {"action_prefix": "source."})
    by_object = admin_client.get("/audit/", {"object_type": "leads.lead", "object_id": str(lead.pk)})
    future = admin_client.get("/audit/", {"created_after": "2999-01-01"})

    assert everything.status_code == 200
    html = everything.content.decode()
    assert "lead.update" in html
    assert "source.update" in html
    assert "Paris" in html
    assert "10.1.1.1" in html
    assert "lead.update" in by_actor.content.decode()
    assert "source.update" not in by_actor.content.decode()
    assert "source.update" in by_action.content.decode()
    assert "lead.update" not in by_action.content.decode()
    assert "lead.update" in by_object.content.decode()
    assert "source.update" not in by_object.content.decode()
    assert "No events match" in future.content.decode()


def test_the_audit_log_pages_by_id_without_offset(admin_client, settings, monkeypatch):
    monkeypatch.setattr("leads.audit_views.PAGE_SIZE", 2)
    lead = LeadFactory()
    events = [audit_record(actor=None, action=f"lead.test{n}", obj=lead) for n in range(3)]

    first = admin_client.get("/audit/").content.decode()
    older = admin_client.get("/audit/", {"before": str(events[1].pk)}).content.decode()

    assert "lead.test2" in first
    assert "lead.test1" in first
    assert "lead.test0" not in first
    assert f"before={events[1].pk}" in first
    assert "lead.test0" in older
    assert "lead.test1" not in older


def test_admins_export_the_filtered_audit_log_as_csv(admin_client, marketer):
    lead = LeadFactory()
    audit_record(actor=marketer, action="lead.update", obj=lead, changes={"city": ["", "=HYPERLINK()"]})
    audit_record(actor=None, action="source.update", obj=lead.source)

    response = admin_client.get("/audit/export.csv", {"actor": "mara"})

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode().lstrip("\ufeff"))))
    assert rows[0] == ["time", "actor", "action", "object_type", "object_id", "object", "changes", "ip_address"]
    assert [row[1:5] for row in rows[1:]] == [["mara", "lead.update", "leads.lead", str(lead.pk)]]
    assert "=HYPERLINK()" in rows[1][6]


@pytest.mark.parametrize("who", ["marketer", "rep"])
def test_reps_and_marketing_may_not_see_or_export_it(request, who):
    client = Client()
    client.force_login(request.getfixturevalue(who))

    assert client.get("/audit/").status_code == 403
    assert client.get("/audit/export.csv").status_code == 403
    assert "Audit log" not in client.get("/").content.decode()


def test_anonymous_users_are_sent_to_log_in():
    assert Client().get("/audit/")["Location"].startswith("/login/")


def test_a_role_change_in_the_admin_is_audited_with_before_and_after(superuser_client):
    user = UserFactory(username="tom", roles=["sales"])
    sales, admin_role = Group.objects.get(name="sales"), Group.objects.get(name="admin")
    form = superuser_client.get(f"/admin/auth/user/{user.pk}/change/").context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None and name != "password"}
    data.update(
        groups=[sales.pk, admin_role.pk],
        user_permissions=[],
        date_joined_0=user.date_joined.strftime("%Y-%m-%d"),
        date_joined_1=user.date_joined.strftime("%H:%M:%S"),
        last_login_0="",
        last_login_1="",
    )

    response = superuser_client.post(f"/admin/auth/user/{user.pk}/change/", data, REMOTE_ADDR="10.9.9.9")

    assert response.status_code == 302, response.context["adminform"].form.errors
    event = AuditEvent.objects.get(action="admin.user.change", object_id=str(user.pk))
    assert event.changes["groups"] == [[sales.pk], sorted([sales.pk, admin_role.pk])]
    assert event.actor.username == "root"
    assert event.ip_address == "10.9.9.9"
    assert "password" not in event.changes


def test_an_admin_edit_of_a_lead_is_audited_with_before_and_after(superuser_client):
    lead = LeadFactory(city="Lyon")
    form = superuser_client.get(f"/admin/leads/lead/{lead.pk}/change/").context["adminform"].form
    data = {name: ("" if value is None else value) for name, value in form.initial.items()}
    data = {name: (value.pk if hasattr(value, "pk") else value) for name, value in data.items() if name in form.fields}
    data["city"] = "Paris"
    data.update(dict(_inline_management(superuser_client, lead).items()))

    response = superuser_client.post(f"/admin/leads/lead/{lead.pk}/change/", data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    event = AuditEvent.objects.get(action="admin.lead.change", object_id=str(lead.pk))
    assert event.changes["city"] == ["Lyon", "Paris"]
    assert Lead.objects.get(pk=lead.pk).city == "Paris"


def _inline_management(client: Client, lead: Lead) -> dict[str, str]:
    """The management form fields of the lead page's inlines, unchanged."""
    context = client.get(f"/admin/leads/lead/{lead.pk}/change/").context
    data: dict[str, str] = {}
    for formset in context["inline_admin_formsets"]:
        management = formset.formset.management_form
        for name, field in management.fields.items():
            data[f"{management.prefix}-{name}"] = str(management.initial.get(name, field.initial or 0))
    return data


def test_an_admin_delete_is_audited_with_the_last_values_and_no_secret(superuser_client):
    source = SourceFactory(slug="expo", name="Expo")
    source.set_new_api_key()
    source.save()

    response = superuser_client.post(f"/admin/leads/source/{source.pk}/delete/", {"post": "yes"})

    assert response.status_code == 302
    deleted = AuditEvent.objects.get(action="admin.source.delete", object_id=str(source.pk))
    assert deleted.changes["name"] == ["Expo", None]
    assert deleted.changes["api_key_hash"] == ["(changed)", None]
    assert source.api_key_hash not in str(deleted.changes)
