"""The territory pages: admins list, create, edit and delete territories with their criteria and reps
(each change audited), marketing reads them, reps do not; and "Test a lead", a dry run of routing."""

from __future__ import annotations

import pytest
from django.urls import reverse

from leads.models import AuditEvent, Lead, Stage
from routing.models import Assignment, OverflowEntry, Territory, TerritoryMembership
from tests.factories import (
    AccountFactory,
    LeadFactory,
    RepFactory,
    TerritoryFactory,
    TerritoryMembershipFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

LIST = "/territories/"
NEW = "/territories/new/"
TEST = "/territories/test/"


def edit_url(territory: Territory) -> str:
    return reverse("routing:territory_edit", args=[territory.slug])


def form_data(**overrides) -> dict:
    data = {
        "name": "DACH",
        "slug": "",
        "priority": "10",
        "manager": "",
        "is_active": "on",
        "countries": "de, AT, ch",
        "regions": "",
        "postal_prefixes": "",
        "postal_ranges": "10000-14999, 80000 - 81999",
        "industries": "Software",
        "min_employees": "50",
        "max_employees": "",
        "named_accounts": "",
        "seats-TOTAL_FORMS": "0",
        "seats-INITIAL_FORMS": "0",
    }
    data.update(overrides)
    return data


def with_seats(data: dict, *seats: tuple) -> dict:
    data = {**data, "seats-TOTAL_FORMS": str(len(seats))}
    for n, (rep, weight, *delete) in enumerate(seats):
        data[f"seats-{n}-rep"] = str(rep.pk) if rep else ""
        data[f"seats-{n}-weight"] = str(weight)
        if delete:
            data[f"seats-{n}-DELETE"] = "on"
    return data


@pytest.fixture
def admin_client(client, lf_admin):
    client.force_login(lf_admin)
    return client


def test_an_admin_creates_a_territory_with_criteria_and_weighted_reps_and_it_is_audited(admin_client, lf_admin):
    ann, bob = RepFactory(user__username="ann"), RepFactory(user__username="bob")
    manager = UserFactory(username="mia")

    response = admin_client.post(NEW, with_seats(form_data(manager=str(manager.pk)), (ann, 2), (bob, 1)))

    assert response.status_code == 302
    territory = Territory.objects.get(slug="dach")
    assert territory.countries == ["DE", "AT", "CH"]
    assert territory.postal_ranges == [["10000", "14999"], ["80000", "81999"]]
    assert (territory.industries, territory.min_employees, territory.manager) == (["Software"], 50, manager)
    assert dict(territory.memberships.values_list("rep__user__username", "weight")) == {"ann": 2, "bob": 1}
    created = AuditEvent.objects.get(action="territory.create")
    assert created.actor == lf_admin
    assert created.changes["countries"] == [None, ["DE", "AT", "CH"]]
    assert created.ip_address == "127.0.0.1"
    reps = AuditEvent.objects.get(action="territory.reps")
    assert reps.changes == {"reps": [{}, {"ann": 2, "bob": 1}]}
    page = admin_client.get(LIST).content.decode()
    assert "DACH" in page
    assert "Postal codes 10000\u201314999, 80000\u201381999" in page
    assert f"{ann} (2), {bob} (1)" in page or f"{bob} (1), {ann} (2)" in page


def test_editing_keeps_round_robin_counts_and_records_before_and_after(admin_client):
    territory = TerritoryFactory(name="EMEA", slug="emea", countries=["DE"])
    ann, bob, cy = RepFactory(user__username="ann"), RepFactory(user__username="bob"), RepFactory(user__username="cy")
    TerritoryMembershipFactory(territory=territory, rep=ann, weight=1, routed_count=7)
    TerritoryMembershipFactory(territory=territory, rep=bob, weight=1)

    data = with_seats(form_data(name="EMEA", slug="emea", countries="DE, FR"), (ann, 3), (bob, 1, "delete"), (cy, 1))
    response = admin_client.post(edit_url(territory), data)

    assert response.status_code == 302
    seats = {
        m.rep.user.username: (m.weight, m.routed_count) for m in TerritoryMembership.objects.filter(territory=territory)
    }
    assert seats == {"ann": (3, 7), "cy": (1, 0)}
    update = AuditEvent.objects.get(action="territory.update")
    assert update.changes["countries"] == [["DE"], ["DE", "FR"]]
    assert AuditEvent.objects.get(action="territory.reps").changes == {
        "reps": [{"ann": 1, "bob": 1}, {"ann": 3, "cy": 1}]
    }


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"countries": "Germany"}, "countries", "Use two-letter ISO country codes; not GERMANY."),
        ({"postal_ranges": "10000-9999"}, "postal_ranges", "both ends need the same number of characters"),
        ({"postal_ranges": "20000-10000"}, "postal_ranges", "the range must start below where it ends"),
        ({"postal_ranges": "10000"}, "postal_ranges", "is not a range like 10000-14999"),
        ({"min_employees": "500", "max_employees": "100"}, "max_employees", "The largest size cannot be below"),
        ({"name": ""}, "name", "This field is required."),
        ({"priority": "soon"}, "priority", "Enter a whole number."),
    ],
)
def test_bad_input_is_named_beside_its_field_and_nothing_is_saved(admin_client, overrides, field, message):
    response = admin_client.post(NEW, form_data(**overrides))

    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors[field])
    assert "Nothing was saved yet" in response.content.decode()
    assert not Territory.objects.exists()
    assert not AuditEvent.objects.exists()


def test_a_rep_listed_twice_is_an_error_on_that_row(admin_client):
    ann = RepFactory(user__username="ann")

    response = admin_client.post(NEW, with_seats(form_data(), (ann, 1), (ann, 2)))

    assert response.status_code == 400
    assert "is listed twice" in response.content.decode()
    assert not Territory.objects.exists()


def test_a_taken_slug_is_refused(admin_client):
    TerritoryFactory(name="DACH", slug="dach")

    response = admin_client.post(NEW, form_data())

    assert response.status_code == 400
    assert "slug" in response.context["form"].errors


def test_deleting_a_territory_moves_its_waiting_leads_to_the_general_overflow(admin_client):
    territory = TerritoryFactory(name="EMEA", slug="emea")
    lead = LeadFactory(stage=Stage.MQL)
    OverflowEntry.objects.create(lead=lead, territory=territory, score=70)

    response = admin_client.post(reverse("routing:territory_delete", args=["emea"]))

    assert response.status_code == 302
    assert not Territory.objects.exists()
    assert OverflowEntry.objects.get().territory is None
    assert AuditEvent.objects.get(action="territory.delete").changes["name"] == ["EMEA", None]


def test_marketing_reads_territories_but_cannot_change_them(client, marketer):
    territory = TerritoryFactory(name="EMEA", slug="emea")
    client.force_login(marketer)

    page = client.get(LIST)

    assert page.status_code == 200
    assert "EMEA" in page.content.decode()
    assert "New territory" not in page.content.decode()
    assert client.get(NEW).status_code == 403
    assert client.post(edit_url(territory), form_data()).status_code == 403
    assert client.post(reverse("routing:territory_delete", args=["emea"])).status_code == 403
    assert Territory.objects.get().name == "EMEA"


def test_reps_do_not_get_the_territory_pages(client, rep):
    client.force_login(rep)

    assert client.get(LIST).status_code == 403
    assert client.get(TEST).status_code == 403


def test_test_a_lead_by_its_fields_shows_the_territory_the_rep_and_why_the_others_were_passed_over(admin_client):
    named = TerritoryFactory(name="Key accounts", slug="key", priority=1, countries=[], named_accounts=["acme.com"])
    dach = TerritoryFactory(name="DACH", slug="dach", priority=10, countries=["DE", "AT"])
    TerritoryFactory(name="Germany tech", slug="de-tech", priority=20, countries=["DE"], industries=["Software"])
    full = RepFactory(user__username="ann", user__first_name="Ann", user__last_name="", max_open_leads=0)
    bob = RepFactory(user__username="bob", user__first_name="Bob", user__last_name="")
    TerritoryMembershipFactory(territory=dach, rep=full, weight=5)
    TerritoryMembershipFactory(territory=dach, rep=bob, weight=1)
    TerritoryMembershipFactory(territory=named, rep=RepFactory())

    response = admin_client.get(TEST, {"country": "de", "industry": "Software", "company": "Initech", "score": "70"})

    assert response.status_code == 200
    preview = response.context["preview"]
    assert (preview.territory, preview.rep, preview.rule) == (dach, bob, "territory_round_robin")
    verdicts = {v.territory.slug: v.why for v in preview.territories}
    assert verdicts["key"] == "Initech is not one of its named accounts"
    assert verdicts["dach"] == "Matches, and comes first"
    assert verdicts["de-tech"] == "Matches too, but DACH comes first (priority 10 before 20)"
    seats = {s.name: s.why for s in preview.seats}
    assert seats["Ann"] == "Passed over: at capacity (0 of 0 open)"
    assert seats["Bob"].startswith("Gets it")
    html = response.content.decode()
    assert "Bob in DACH" in html
    assert "Passed over: at capacity (0 of 0 open)" in html
    # A dry run: nothing assigned, counted or written.
    assert not Assignment.objects.exists()
    assert not Lead.objects.exists()
    assert TerritoryMembership.objects.get(rep=bob).routed_count == 0


def test_test_an_existing_lead_uses_its_account_owner(admin_client):
    rick = RepFactory(user__username="rick", user__first_name="Rick", user__last_name="")
    lead = LeadFactory(stage=Stage.MQL, score=75, account=AccountFactory(name="Acme", owner=rick.user))

    response = admin_client.get(TEST, {"lead": lead.pk})

    preview = response.context["preview"]
    assert (preview.rep, preview.rule) == (rick, "account_owner")
    assert preview.reason == "Rick owns Acme."
    lead.refresh_from_db()
    assert lead.owner is None


def test_test_a_lead_with_nothing_given_or_an_unknown_lead_says_so(admin_client):
    empty = admin_client.get(TEST, {"lead": "", "country": ""})
    unknown = admin_client.get(TEST, {"lead": "999999"})

    assert "Give an existing lead&#x27;s number, or some of its fields." in empty.content.decode()
    assert "No lead number 999999 that you may see." in unknown.content.decode()
    assert unknown.context["preview"] is None
