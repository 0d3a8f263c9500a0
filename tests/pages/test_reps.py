"""The reps page: each rep's load against capacity, intake, appetite, availability, hours and SLA lapses;
admins edit a rep (audited, problems beside their fields), marketing reads, reps do not get it."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from leads.models import AuditEvent, Stage
from routing.models import Rep, SlaBreach
from tests.factories import LeadFactory, RepFactory

pytestmark = pytest.mark.django_db

LIST = "/reps/"


def edit_url(rep: Rep) -> str:
    return reverse("routing:rep_edit", args=[rep.pk])


def form_data(**overrides) -> dict:
    data = {
        "max_open_leads": "30", "max_new_per_day": "12", "min_score": "40", "is_available": "on",
        "out_of_office_from": "", "out_of_office_until": "", "backup": "", "timezone": "Europe/Berlin",
        "work_start": "08:00", "work_end": "16:30", "work_days": ["1", "2", "3", "4"],
    }  # fmt: skip
    data.update(overrides)
    return data


def test_the_list_shows_load_capacity_availability_hours_and_lapses(client, marketer):
    ann = RepFactory(user__username="ann", max_open_leads=2, timezone="America/New_York")
    away = RepFactory(user__username="bob", out_of_office_until=timezone.now() + datetime.timedelta(days=2))
    LeadFactory.create_batch(2, owner=ann.user, stage=Stage.MQL)
    LeadFactory(owner=ann.user, stage=Stage.SAL, accepted_at=timezone.now())  # being worked: not open
    SlaBreach.objects.create(
        lead=LeadFactory(), rep=ann, stage=Stage.MQL, kind="accept", due_at=timezone.now(), action="escalated"
    )
    client.force_login(marketer)

    response = client.get(LIST)

    html = response.content.decode()
    assert response.status_code == 200
    rows = {row.rep.user.username: row for row in response.context["reps"]}
    assert (rows["ann"].open_leads, rows["ann"].sla_breaches, rows["ann"].away) == (2, 1, False)
    assert rows["bob"].away is True
    assert '<span class="overdue">2</span> / 2' in html
    assert "America/New_York" in html
    assert "Out of office" in html
    assert f'href="{edit_url(away)}"' not in html  # marketing reads only


def test_an_admin_edits_a_rep_and_it_is_audited(client, lf_admin):
    rep = RepFactory(user__username="ann")
    backup = RepFactory(user__username="bob")
    client.force_login(lf_admin)

    response = client.post(edit_url(rep), form_data(backup=str(backup.pk)))

    assert response.status_code == 302
    rep.refresh_from_db()
    assert (rep.max_open_leads, rep.min_score, rep.timezone, rep.backup) == (30, 40, "Europe/Berlin", backup)
    assert (rep.work_start, rep.work_end, rep.work_days) == (datetime.time(8), datetime.time(16, 30), [1, 2, 3, 4])
    event = AuditEvent.objects.get(action="rep.update")
    assert event.actor == lf_admin
    assert event.changes["max_open_leads"] == [25, 30]
    assert event.changes["work_days"] == [[1, 2, 3, 4, 5], [1, 2, 3, 4]]


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"work_end": "07:00"}, "work_end", "Working hours must end after they start."),
        ({"work_days": []}, "work_days", "This field is required."),
        ({"timezone": "Mars/Olympus"}, "timezone", "Select a valid choice."),
        ({"max_open_leads": "-1"}, "max_open_leads", "greater than or equal to 0"),
        (
            {"out_of_office_from": "2026-12-20T00:00", "out_of_office_until": "2026-12-10T00:00"},
            "out_of_office_until",
            "The absence must end after it starts.",
        ),
    ],
)
def test_bad_input_is_named_beside_its_field_and_nothing_is_saved(client, lf_admin, overrides, field, message):
    rep = RepFactory(user__username="ann")
    client.force_login(lf_admin)

    response = client.post(edit_url(rep), form_data(**overrides))

    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors[field])
    rep.refresh_from_db()
    assert rep.max_open_leads == 25
    assert not AuditEvent.objects.exists()


def test_a_rep_cannot_be_their_own_backup(client, lf_admin):
    rep = RepFactory(user__username="ann")
    client.force_login(lf_admin)

    response = client.post(edit_url(rep), form_data(backup=str(rep.pk)))

    assert response.status_code == 400
    assert "backup" in response.context["form"].errors


def test_marketing_and_reps_may_not_edit_and_reps_do_not_get_the_list(client, marketer, rep):
    profile = Rep.objects.get(user=rep)
    client.force_login(marketer)
    assert client.post(edit_url(profile), form_data()).status_code == 403
    client.force_login(rep)
    assert client.get(LIST).status_code == 403
    assert client.post(edit_url(profile), form_data()).status_code == 403
    profile.refresh_from_db()
    assert profile.max_open_leads == 25
