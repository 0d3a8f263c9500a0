"""Who may move what, through ``POST /api/leads/{id}/stage/``: one table per role, the same rule the pages use.

Admins move any lead; a rep moves the leads they own; marketing moves unowned leads between its own
stages (new, junk, nurture, MQL). A lead the caller cannot see is a 404; one they see but may not
move is a 403; either way nothing changes.
"""

from __future__ import annotations

import datetime

import pytest

from leads.models import Lead, Stage, StageChange
from tests.factories import LeadFactory, listed_reason

pytestmark = pytest.mark.django_db

#: The why each target stage needs, as the API takes it.
WHY = {
    Stage.JUNK: lambda: {"reason_code": listed_reason("disqualified", "Spam").pk},
    Stage.LOST: lambda: {"reason_code": listed_reason("lost", "Price").pk},
    Stage.NURTURE: lambda: {"reason": "Not this year"},
}

# (who, lead owner, from stage, to stage, expected status)
RULES = [
    # marketing: unowned leads, marketing's stages
    ("marketer", None, Stage.NEW, Stage.MQL, 200),
    ("marketer", None, Stage.NEW, Stage.JUNK, 200),
    ("marketer", None, Stage.NURTURE, Stage.MQL, 200),
    ("marketer", None, Stage.LOST, Stage.NURTURE, 200),
    ("marketer", None, Stage.MQL, Stage.SAL, 403),  # accepting is sales' call
    ("marketer", None, Stage.SAL, Stage.LOST, 403),
    ("marketer", "rep", Stage.MQL, Stage.NURTURE, 403),  # a rep's lead
    ("marketer", "rep", Stage.NEW, Stage.JUNK, 403),
    # a rep: their own leads, any move the lifecycle allows
    ("rep", "rep", Stage.MQL, Stage.SAL, 200),
    ("rep", "rep", Stage.SAL, Stage.SQL, 200),
    ("rep", "rep", Stage.SQL, Stage.LOST, 200),
    ("rep", "rep", Stage.SAL, Stage.JUNK, 200),  # disqualified after accepting
    ("rep", "rep", Stage.MQL, Stage.NURTURE, 200),
    ("rep", None, Stage.MQL, Stage.NURTURE, 403),  # visible (claimable) but not theirs
    ("rep", None, Stage.NEW, Stage.MQL, 404),  # not visible at all
    ("rep", "other_rep", Stage.SAL, Stage.SQL, 404),
    # admins: anything the lifecycle allows
    ("lf_admin", "rep", Stage.SAL, Stage.SQL, 200),
    ("lf_admin", None, Stage.MQL, Stage.SAL, 200),
    ("lf_admin", "rep", Stage.SQL, Stage.LOST, 200),
    ("lf_admin", None, Stage.NEW, Stage.JUNK, 200),
]


@pytest.mark.parametrize(
    ("who", "owner", "from_stage", "to_stage", "expected"),
    RULES,
    ids=[f"{who}-{owner or 'unowned'}-{a}-{b}" for who, owner, a, b, _ in RULES],
)
def test_who_may_move_what(request, client_as, who, owner, from_stage, to_stage, expected):
    user = request.getfixturevalue(who)
    lead = LeadFactory(stage=from_stage, owner=request.getfixturevalue(owner) if owner else None)

    response = client_as(user).post(
        f"/api/leads/{lead.pk}/stage/", {"stage": to_stage, **WHY.get(to_stage, dict)()}, format="json"
    )

    assert response.status_code == expected, response.content
    stage_now = Lead.objects.get(pk=lead.pk).stage
    if expected == 200:
        assert stage_now == to_stage
        [change] = StageChange.objects.filter(lead=lead)
        assert change.actor == user
    else:
        assert stage_now == from_stage
        assert not StageChange.objects.filter(lead=lead).exists()


def test_a_403_says_who_may_move_it(client_as, marketer, rep):
    lead = LeadFactory(stage=Stage.MQL, owner=rep)

    response = client_as(marketer).post(
        f"/api/leads/{lead.pk}/stage/", {"stage": "nurture", "reason": "later"}, format="json"
    )

    assert response.status_code == 403
    assert "a rep works the leads they own" in response.json()["detail"]


def test_the_move_records_who_when_and_why_with_the_listed_reason(client_as, rep):
    lead = LeadFactory(stage=Stage.SQL, owner=rep)
    price = listed_reason("lost", "Price")

    response = client_as(rep).post(
        f"/api/leads/{lead.pk}/stage/",
        {"stage": "lost", "reason_code": price.pk, "reason": "Went with the cheaper plan"},
        format="json",
    )

    assert response.status_code == 200
    history = client_as(rep).get(f"/api/leads/{lead.pk}/stage-changes/").json()["results"]
    assert history[-1]["to_stage"] == "lost"
    assert history[-1]["actor"] == "rick"
    assert history[-1]["reason"] == "Went with the cheaper plan"
    assert history[-1]["reason_code"] == {
        "id": price.pk,
        "kind": "lost",
        "label": "Price",
        "is_active": True,
        "position": price.position,
    }
    moved_at = datetime.datetime.fromisoformat(response.json()["stage_changed_at"])
    recorded_at = datetime.datetime.fromisoformat(history[-1]["created_at"])
    assert abs(moved_at - recorded_at) < datetime.timedelta(seconds=1)


@pytest.mark.parametrize(
    ("to_stage", "reason_label", "field", "message"),
    [
        ("lost", ("disqualified", "Spam"), "reason_code", "is a disqualified reason"),
        ("junk", ("lost", "Price"), "reason_code", "is a lost reason"),
        ("lost", None, "reason_code", "needs a reason from the lost reasons list"),
    ],
)
def test_a_reason_from_the_wrong_list_or_none_is_a_400_naming_reason_code(
    client_as, lf_admin, to_stage, reason_label, field, message
):
    lead = LeadFactory(stage=Stage.SQL if to_stage == "lost" else Stage.NEW)
    body = {"stage": to_stage, "reason": "because"}
    if reason_label:
        body["reason_code"] = listed_reason(*reason_label).pk

    response = client_as(lf_admin).post(f"/api/leads/{lead.pk}/stage/", body, format="json")

    assert response.status_code == 400
    assert message in response.json()[field][0]
    assert not StageChange.objects.exists()


def test_an_inactive_reason_is_refused(client_as, lf_admin):
    lead = LeadFactory(stage=Stage.NEW)
    spam = listed_reason("disqualified", "Spam")
    spam.is_active = False
    spam.save()

    response = client_as(lf_admin).post(
        f"/api/leads/{lead.pk}/stage/", {"stage": "junk", "reason_code": spam.pk}, format="json"
    )

    assert response.status_code == 400
    assert "no longer in use" in response.json()["reason_code"][0]


@pytest.mark.parametrize(("from_stage", "to_stage"), [(Stage.SQL, "opportunity"), (Stage.OPPORTUNITY, "won")])
def test_opportunity_and_won_are_not_plain_moves(client_as, lf_admin, from_stage, to_stage):
    lead = LeadFactory(stage=from_stage)

    response = client_as(lf_admin).post(f"/api/leads/{lead.pk}/stage/", {"stage": to_stage}, format="json")

    assert response.status_code == 400
    assert "converting" in response.json()["stage"][0]
