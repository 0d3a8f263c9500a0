"""The scoring engine: pure functions, so exhaustive and fast (no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from scoring.defaults import DEFAULT_RULES
from scoring.engine import (
    ActivityFact,
    LeadFacts,
    ScoreLine,
    decay_factor,
    fit_rule_matches,
    score_lead,
)

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)

PRICING = {
    "id": "pricing",
    "activity": "pricing_visit",
    "label": "Visited pricing page",
    "points": 20,
    "half_life_days": 14,
    "max_count": 2,
}


def ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


def rule(op: str, value: object = None, field: str = "x") -> dict[str, object]:
    return {"id": "r", "field": field, "op": op, "value": value, "points": 5}


# --- Fit operators ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("op", "value", "actual", "matches"),
    [
        ("eq", "director", "director", True),
        ("eq", "director", "Director", True),  # text compares without case
        ("eq", "director", "manager", False),
        ("eq", 200, 200, True),
        ("ne", "US", "DE", True),
        ("ne", "US", "us", False),
        ("in", ["vp", "c_level"], "VP", True),
        ("in", ["vp", "c_level"], "director", False),
        ("not_in", ["government", "education"], "software", True),
        ("not_in", ["government", "education"], "Education", False),
        ("gte", 200, 200, True),
        ("gte", 200, 199, False),
        ("lte", 10, 10, True),
        ("lte", 10, 11, False),
        ("contains", "chief", "Chief Revenue Officer", True),
        ("contains", ["head of", "vp"], "Head of Sales", True),
        ("contains", ["head of", "vp"], "Sales Manager", False),
        ("contains", "1", 1000, False),  # only text contains text
        ("is_set", None, "Acme", True),
        ("is_set", None, 0, True),
        ("is_set", None, "", False),
        ("is_set", None, None, False),
        ("is_empty", None, "", True),
        ("is_empty", None, None, True),
        ("is_empty", None, [], True),
        ("is_empty", None, "Acme", False),
        ("is_empty", None, 0, False),
    ],
)
def test_fit_operator(op, value, actual, matches):
    assert fit_rule_matches(rule(op, value), {"x": actual}) is matches


@pytest.mark.parametrize("op", ["eq", "ne", "in", "not_in", "gte", "lte", "contains"])
@pytest.mark.parametrize("missing", [None, ""])
def test_a_missing_value_matches_no_comparison(op, missing):
    """Neither earns nor loses points: ``employees lte 10`` must not fire for an unknown head count."""
    value = ["x"] if op in ("in", "not_in", "contains") else 10
    assert not fit_rule_matches(rule(op, value), {"x": missing})
    assert not fit_rule_matches(rule(op, value), {})


def test_missing_values_add_nothing_and_take_nothing_away():
    rules = {"fit": DEFAULT_RULES["fit"]}  # includes "tiny: employees lte 10 -> -10"

    result = score_lead(LeadFacts(fields={"employees": None, "seniority": "", "country": None}), rules, NOW)

    assert result.total == 0
    assert result.lines == ()


def test_unknown_operator_is_an_error():
    with pytest.raises(ValueError, match="Unknown operator 'between'"):
        fit_rule_matches(rule("between", [1, 2]), {"x": 5})


def test_fit_rule_without_op_means_equals():
    assert fit_rule_matches({"id": "r", "field": "x", "value": "us", "points": 1}, {"x": "US"})


# --- Engagement and decay -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("age_days", "half_life", "factor"),
    [(0, 14, 1.0), (14, 14, 0.5), (28, 14, 0.25), (7, 7, 0.5), (30, 30, 0.5), (-3, 14, 1.0)],
)
def test_decay_halves_the_value_every_half_life(age_days, half_life, factor):
    assert decay_factor(age_days, half_life) == pytest.approx(factor)


@pytest.mark.parametrize(("age_days", "points"), [(0, 20), (14, 10), (28, 5), (42, 2), (7, 14)])
def test_engagement_points_decay_at_known_times(age_days, points):
    facts = LeadFacts(fields={}, activities=[ActivityFact("pricing_visit", ago(age_days))])

    result = score_lead(facts, {"engagement": [PRICING]}, NOW)

    assert result.engagement == result.total == points


def test_an_activity_decayed_to_nothing_gives_no_line():
    facts = LeadFacts(fields={}, activities=[ActivityFact("pricing_visit", ago(200))])

    result = score_lead(facts, {"engagement": [PRICING]}, NOW)

    assert result.total == 0
    assert result.lines == ()


def test_max_count_keeps_only_the_most_recent_activities():
    visits = [ActivityFact("pricing_visit", ago(days)) for days in (30, 0, 14, 60, 28)]

    result = score_lead(LeadFacts(fields={}, activities=visits), {"engagement": [PRICING]}, NOW)

    assert [line.points for line in result.lines] == [20, 10]  # today and 14 days ago; max_count 2
    assert result.total == 30


def test_max_count_defaults_to_three():
    rule_without_max = {key: value for key, value in PRICING.items() if key != "max_count"}
    visits = [ActivityFact("pricing_visit", NOW)] * 5

    result = score_lead(LeadFacts(fields={}, activities=visits), {"engagement": [rule_without_max]}, NOW)

    assert result.total == 60


def test_activities_no_rule_names_score_nothing():
    facts = LeadFacts(fields={}, activities=[ActivityFact("note", NOW), ActivityFact("system", NOW)])

    assert score_lead(facts, DEFAULT_RULES, NOW).total == 0


# --- The result and its explanation -------------------------------------------------------------


def _rich_facts() -> LeadFacts:
    return LeadFacts(
        fields={"seniority": "vp", "industry": "Software", "employees": 8, "country": "DE"},
        activities=[
            ActivityFact("pricing_visit", ago(2)),
            ActivityFact("pricing_visit", ago(20)),
            ActivityFact("webinar", ago(10)),
            ActivityFact("form_fill", ago(0.5)),
            *[ActivityFact("email_click", ago(d)) for d in (1, 3, 5, 8, 13, 21)],
        ],
    )


def test_breakdown_points_add_up_to_the_total():
    result = score_lead(_rich_facts(), DEFAULT_RULES, NOW)
    breakdown = result.breakdown()

    assert sum(line["points"] for line in breakdown) == result.total
    assert result.fit + result.engagement == result.total
    assert sum(line["points"] for line in breakdown if line["kind"] == "fit") == result.fit
    assert result.fit == 20 + 15 - 10 + 10  # vp, software, 8 employees, DE


def test_breakdown_lines_are_plain_json_with_their_text():
    line = score_lead(_rich_facts(), DEFAULT_RULES, NOW).breakdown()[0]

    assert line == {
        "rule": "senior",
        "kind": "fit",
        "label": "Title is VP or above",
        "points": 20,
        "base_points": 20,
        "age_days": None,
        "text": "+20 Title is VP or above",
    }


def test_explain_says_how_old_the_activity_is_and_what_it_decayed_from():
    quick_decay = {**PRICING, "half_life_days": 5}
    facts = LeadFacts(fields={}, activities=[ActivityFact("pricing_visit", ago(2))])

    [line] = score_lead(facts, {"engagement": [quick_decay]}, NOW).lines

    assert line.explain() == "+15 Visited pricing page 2 days ago (decayed from 20)"


@pytest.mark.parametrize(
    ("line", "text"),
    [
        (ScoreLine("senior", "fit", "Title is VP or above", 20, 20), "+20 Title is VP or above"),
        (
            ScoreLine("tiny", "fit", "Company has 10 or fewer employees", -10, -10),
            "-10 Company has 10 or fewer employees",
        ),
        (ScoreLine("form", "engagement", "Filled in a form", 10, 10, 0.4), "+10 Filled in a form today"),
        (ScoreLine("form", "engagement", "Filled in a form", 10, 10, 1.2), "+10 Filled in a form 1 day ago"),
        (
            ScoreLine("click", "engagement", "Clicked an e-mail", 2, 3, 7.9),
            "+2 Clicked an e-mail 7 days ago (decayed from 3)",
        ),
    ],
)
def test_explain_in_plain_words(line, text):
    assert line.explain() == text


def test_the_same_facts_give_the_same_score():
    assert score_lead(_rich_facts(), DEFAULT_RULES, NOW) == score_lead(_rich_facts(), DEFAULT_RULES, NOW)


def test_scores_change_with_the_moment_of_scoring():
    facts = _rich_facts()

    now, month_later = score_lead(facts, DEFAULT_RULES, NOW), score_lead(facts, DEFAULT_RULES, NOW + timedelta(days=30))

    assert month_later.engagement < now.engagement
    assert month_later.fit == now.fit


def test_no_rules_no_points():
    assert score_lead(_rich_facts(), {}, NOW).total == 0
