"""The scoring engine under any lead and any valid rules (hypothesis): no crash, a total within
what the rules can give, the breakdown adding up to it, and the same answer every time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from scoring.defaults import DEFAULT_RULES
from scoring.engine import FIT_OPERATORS, ActivityFact, LeadFacts, score_lead
from scoring.rules import FIT_FIELD_KINDS, rules_validate
from scoring.services import ENGAGEMENT_KINDS

AT = datetime(2026, 6, 1, tzinfo=UTC)
NUMBER_FIELDS = [name for name, kind in FIT_FIELD_KINDS.items() if kind == "number"]
TEXT_FIELDS = [name for name, kind in FIT_FIELD_KINDS.items() if kind not in ("number", "yes_no")]

text = st.text(max_size=30) | st.sampled_from(["", "vp", "US", "software", "acme.com", "VP Sales"])
number = st.none() | st.integers(0, 10**6)
fields = st.fixed_dictionaries(
    {
        **dict.fromkeys(TEXT_FIELDS, text),
        **dict.fromkeys(NUMBER_FIELDS, number),
        "email_is_business": st.booleans(),
    }
)
activities = st.lists(
    st.builds(
        ActivityFact,
        kind=st.sampled_from(ENGAGEMENT_KINDS),
        occurred_at=st.integers(-30 * 86400, 3 * 365 * 86400).map(lambda s: AT - timedelta(seconds=s)),
    ),
    max_size=12,
)
fit_rule = st.fixed_dictionaries(
    {
        "field": st.sampled_from(sorted(FIT_FIELD_KINDS)),
        "op": st.sampled_from(FIT_OPERATORS),
        "value": text | st.integers(0, 10**6) | st.lists(text, max_size=3) | st.booleans(),
        "points": st.integers(-50, 50),
    }
)
engagement_rule = st.fixed_dictionaries(
    {
        "activity": st.sampled_from(ENGAGEMENT_KINDS),
        "points": st.integers(-50, 50),
        "half_life_days": st.integers(1, 365),
        "max_count": st.integers(1, 5),
    }
)


@st.composite
def valid_rules(draw):
    rules = {
        "fit": [
            {"id": f"f{n}", "label": f"Fit {n}", **rule} for n, rule in enumerate(draw(st.lists(fit_rule, max_size=6)))
        ],
        "engagement": [
            {"id": f"e{n}", "label": f"Engagement {n}", **rule}
            for n, rule in enumerate(draw(st.lists(engagement_rule, max_size=4)))
        ],
        "thresholds": {"mql": draw(st.integers(1, 200))},
    }
    assume(not rules_validate(rules))  # only rules the editor would let an admin publish
    return rules


def bounds(rules) -> tuple[int, int]:
    fit = [rule["points"] for rule in rules["fit"]]
    engagement = [rule["points"] * rule.get("max_count", 3) for rule in rules["engagement"]]
    return sum(min(p, 0) for p in fit + engagement), sum(max(p, 0) for p in fit + engagement)


@given(fields, activities, valid_rules() | st.just(DEFAULT_RULES))
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
def test_any_lead_under_any_valid_rules_scores_within_bounds_and_deterministically(lead_fields, lead_activities, rules):
    facts = LeadFacts(fields=lead_fields, activities=tuple(lead_activities))

    result = score_lead(facts, rules, AT)

    low, high = bounds(rules)
    assert low <= result.total <= high
    assert result.total == result.fit + result.engagement == sum(line.points for line in result.lines)
    assert score_lead(facts, rules, AT) == result
    assert all(line.explain() for line in result.lines)
