"""Checking a definition's rules (every kind of rule, every message) and comparing two versions."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from scoring.defaults import DEFAULT_RULES
from scoring.rules import rules_diff, rules_problems, rules_validate

SEP = " \u203a "


def rules_with(**changes: Any) -> dict[str, Any]:
    rules = copy.deepcopy(DEFAULT_RULES)
    rules.update(changes)
    return rules


def fit(**rule: Any) -> dict[str, Any]:
    return {"id": "r", "label": "Rule", "field": "industry", "op": "eq", "value": "fintech", "points": 10, **rule}


def engagement(**rule: Any) -> dict[str, Any]:
    return {
        "id": "e",
        "label": "Webinar",
        "activity": "webinar",
        "points": 10,
        "half_life_days": 30,
        "max_count": 2,
        **rule,
    }


def only_messages(rules: dict[str, Any]) -> list[str]:
    return [message for messages in rules_validate(rules).values() for message in messages]


def test_the_default_rules_are_valid():
    assert rules_validate(DEFAULT_RULES) == {}


def test_a_full_set_of_rules_with_every_setting_is_valid():
    rules = rules_with(
        screening={
            **DEFAULT_RULES["screening"],
            "block_disposable": False,
            "excluded_countries": ["KP", "ir"],
        },
        thresholds={"mql": 70, "must_have": [{"id": "biz", "field": "email_is_business", "op": "eq", "value": True}]},
    )
    rules["fit"].append(fit(id="biz", field="email_is_business", op="eq", value=True, points=5))
    rules["fit"].append(fit(id="not_tiny", field="account_employees", op="gte", value=50, points=5))
    rules["fit"].append(fit(id="no_country", field="country", op="is_empty", value=None, points=-5))

    assert rules_validate(rules) == {}


# --- Fit rules -------------------------------------------------------------------------------------


def test_an_unknown_field_is_named_with_the_fields_there_are():
    rules = rules_with(fit=[fit(), fit(id="r2"), fit(id="vp", label="Title is VP", field="industy")])

    errors = rules_validate(rules)

    [(path, [message])] = errors.items()
    assert path == f"fit rule 3 (“Title is VP”){SEP}field"
    assert message.startswith("Unknown field “industy”; fields are: first_name, last_name,")
    assert "account_industry" in message


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        (fit(op="in", value="fintech"), "“is one of” takes a list of values, not one"),
        (fit(op="not_in", value=[]), "Enter a value for “is not one of”"),
        (fit(field="employees", op="gte", value="200"), "“is at least” needs a number, not “200”"),
        (fit(field="title", op="lte", value=3), "“is at most” compares numbers, and “title” is not a number"),
        (fit(op="eq", value=["a", "b"]), "“is” takes one value; use “is one of” for several"),
        (
            fit(op="between", value=1),
            "Unknown operator “between”; operators are: eq, ne, in, not_in, gte, lte, contains, is_set, is_empty",
        ),
        (fit(op="is_set", value="x"), "“is filled in” compares with nothing: leave the value empty"),
        (
            fit(field="seniority", op="in", value=["vp", "chief"]),
            "Unknown seniority “chief”; seniorities are: c_level, vp, director, manager, individual, student",
        ),
        (
            fit(field="country", op="in", value=["US", "USA"]),
            "“USA” is not a two-letter country code (ISO 3166-1, e.g. US)",
        ),
        (fit(field="employees", op="in", value=[10, "many"]), "“employees” is a number; “many” is not"),
        (
            fit(field="email_is_business", op="eq", value="yes"),
            "“email_is_business” is yes or no (true or false), not “yes”",
        ),
        (fit(field="employees", op="contains", value="1"), "“contains” looks inside text, and “employees” is not text"),
        (fit(field=""), "Choose a field"),
        (fit(op=""), "Choose an operator"),
        (fit(value=""), "Enter a value for “is”"),
    ],
)
def test_operators_and_values_must_fit_the_field(rule, message):
    assert only_messages(rules_with(fit=[rule])) == [message]


@pytest.mark.parametrize("points", [101, -101, 2.5, "10", True])
def test_points_are_a_whole_number_from_minus_100_to_100(points):
    errors = rules_validate(rules_with(fit=[fit(label="Fintech", points=points)]))

    assert errors == {
        f"fit rule 1 (“Fintech”){SEP}points": [f"Points must be a whole number from -100 to 100, not “{points}”"]
    }


@pytest.mark.parametrize("points", [-100, -15, 0, 100])
def test_negative_and_boundary_points_are_fine(points):
    assert rules_validate(rules_with(fit=[fit(points=points)])) == {}


def test_a_rule_needs_a_label_and_an_id_used_once():
    rules = rules_with(fit=[fit(id="same"), fit(id="same", label=""), fit(id="Has Spaces")])

    errors = rules_validate(rules)

    assert errors == {
        f"fit rule 2{SEP}label": ["Give the rule a label: it is the line people read in a lead's score"],
        f"fit rule 2{SEP}id": ["Rule id “same” is also used by fit rule 1"],
        f"fit rule 3 (“Rule”){SEP}id": [
            "“Has Spaces” is not a rule id: use up to 40 lower-case letters, digits, _ and -"
        ],
    }


def test_unknown_keys_and_non_objects_are_named():
    rules = rules_with(fit=[fit(weight=3), "industry is fintech"])

    assert rules_validate(rules) == {
        "fit rule 1 (“Rule”)": ["Unknown key “weight”; a rule has: id, label, field, op, value, points"],
        "fit rule 2": ["Each rule must be an object"],
    }


# --- Engagement rules ------------------------------------------------------------------------------


def test_a_half_life_of_zero_is_refused():
    rules = rules_with(engagement=[engagement(label="Attended a webinar", half_life_days=0)])

    assert rules_validate(rules) == {
        f"engagement rule 1 (“Attended a webinar”){SEP}half-life": ["Half-life must be more than 0 days"]
    }


@pytest.mark.parametrize(
    ("changes", "key", "message"),
    [
        ({"half_life_days": -3}, "half-life", "Half-life must be more than 0 days"),
        ({"half_life_days": "two weeks"}, "half-life", "Half-life must be a number of days, not “two weeks”"),
        ({"half_life_days": None}, "half-life", "Give the half-life in days"),
        (
            {"activity": "note"},
            "activity",
            "“Note” is not engagement: notes, calls, meetings and notices score nothing",
        ),
        (
            {"activity": "meeting"},
            "activity",
            "“Meeting” is not engagement: notes, calls, meetings and notices score nothing",
        ),
        (
            {"activity": "tweet"},
            "activity",
            "Unknown activity “tweet”; activities are: form_fill, page_visit, pricing_visit, email_open, "
            "email_click, webinar, content_download",
        ),
        ({"max_count": 0}, "counts at most", "Counts at most must be a whole number from 1 to 100"),
        ({"points": 250}, "points", "Points must be a whole number from -100 to 100, not “250”"),
    ],
)
def test_engagement_rules_are_checked(changes, key, message):
    errors = rules_validate(rules_with(engagement=[engagement(**changes)]))

    assert errors == {f"engagement rule 1 (“Webinar”){SEP}{key}": [message]}


def test_a_half_life_in_fractions_of_a_day_is_fine():
    assert rules_validate(rules_with(engagement=[engagement(half_life_days=0.5)])) == {}


# --- Thresholds, must-haves, dedupe, SLA, screening ------------------------------------------------


@pytest.mark.parametrize(
    ("thresholds", "message"),
    [
        ({"mql": "sixty"}, "The MQL threshold must be a whole number from 1 to 1000, not “sixty”"),
        ({"mql": 60.5}, "The MQL threshold must be a whole number from 1 to 1000, not “60.5”"),
        ({"mql": 0}, "The MQL threshold must be a whole number from 1 to 1000, not “0”"),
        ({}, "Set the MQL threshold"),
    ],
)
def test_the_mql_threshold_is_a_whole_number(thresholds, message):
    assert rules_validate(rules_with(thresholds=thresholds)) == {f"thresholds{SEP}MQL at": [message]}


def test_must_have_conditions_use_the_fit_condition_shape():
    thresholds = {
        "mql": 60,
        "must_have": [
            {"field": "country", "op": "in", "value": ["US", "CA"]},
            {"label": "Has a phone", "field": "phon", "op": "is_set"},
            {"field": "employees", "op": "gte", "value": "many", "points": 5},
        ],
    }

    errors = rules_validate(rules_with(thresholds=thresholds))

    assert list(errors) == [
        f"must-have condition 2 (“Has a phone”){SEP}field",
        "must-have condition 3",
        f"must-have condition 3{SEP}value",
    ]
    assert errors[f"must-have condition 2 (“Has a phone”){SEP}field"][0].startswith("Unknown field “phon”")
    assert errors["must-have condition 3"] == ["Unknown key “points”; a rule has: id, label, field, op, value"]
    assert errors[f"must-have condition 3{SEP}value"] == ["“is at least” needs a number, not “many”"]


@pytest.mark.parametrize(
    ("dedupe", "key", "message"),
    [
        (
            {"auto_merge": 0.8, "review": 0.9},
            "review at",
            "Review must be below auto-merge (0.8), or nothing is left to review",
        ),
        (
            {"auto_merge": 0.8, "review": 0.8},
            "review at",
            "Review must be below auto-merge (0.8), or nothing is left to review",
        ),
        (
            {"auto_merge": 1.2, "review": 0.5},
            "auto-merge at",
            "Similarity must be a number from 0 to 1 (e.g. 0.9), not “1.2”",
        ),
        ({"auto_merge": 0.9}, "review at", "Give a similarity from 0 to 1 (e.g. 0.9)"),
    ],
)
def test_dedupe_review_is_below_auto_merge_and_both_between_0_and_1(dedupe, key, message):
    assert rules_validate(rules_with(dedupe=dedupe)) == {f"dedupe{SEP}{key}": [message]}


@pytest.mark.parametrize(
    ("sla", "key", "message"),
    [
        (
            {"hot_score": 80, "hot_accept_hours": 0, "accept_hours": 24},
            "hot: accept within hours",
            "Hours must be more than 0",
        ),
        (
            {"hot_score": 80, "hot_accept_hours": 2, "accept_hours": -1},
            "accept within hours",
            "Hours must be more than 0",
        ),
        (
            {"hot_score": 80, "hot_accept_hours": "soon", "accept_hours": 24},
            "hot: accept within hours",
            "Hours must be a number, not “soon”",
        ),
        (
            {"hot_score": "hot", "hot_accept_hours": 2, "accept_hours": 24},
            "hot at score",
            "The hot score must be a whole number from 1 to 1000, not “hot”",
        ),
    ],
)
def test_sla_hours_are_more_than_zero(sla, key, message):
    assert rules_validate(rules_with(sla=sla)) == {f"SLA{SEP}{key}": [message]}


def test_screening_settings_are_checked():
    screening = {
        "b2b_only": "yes",
        "competitor_domains": ["rival.com", "not a domain"],
        "excluded_countries": ["Germany"],
        "block_robots": True,
    }

    errors = rules_validate(rules_with(screening=screening))

    assert errors == {
        f"screening{SEP}business e-mail only": ["“business e-mail only” is on or off (true or false), not “yes”"],
        f"screening{SEP}competitor domains": ["“not a domain” does not look like a web domain (e.g. rival.com)"],
        f"screening{SEP}excluded countries": ["“Germany” is not a two-letter country code (ISO 3166-1, e.g. US)"],
        f"screening{SEP}block_robots": [
            "Unknown setting “block_robots”; settings are: b2b_only, block_students, block_test_entries, "
            "block_disposable, competitor_domains, excluded_industries, excluded_countries"
        ],
    }


def test_unknown_sections_and_rules_that_are_not_an_object_are_named():
    assert rules_validate(rules_with(scoring={})) == {
        "scoring": ["Unknown section “scoring”; sections are: screening, fit, engagement, thresholds, dedupe, sla"]
    }
    assert list(rules_validate([])) == ["rules"]


def test_problems_say_which_section_row_and_key_they_belong_to():
    rules = rules_with(fit=[fit(), fit(id="b", points=500)], engagement=[engagement(half_life_days=0)])

    problems = rules_problems(rules)

    assert [(p.section, p.index, p.key) for p in problems] == [
        ("fit", 1, "points"),
        ("engagement", 0, "half_life_days"),
    ]


# --- Comparing -------------------------------------------------------------------------------------


def test_identical_rules_have_no_differences():
    assert rules_diff(DEFAULT_RULES, copy.deepcopy(DEFAULT_RULES)) == []


def test_the_diff_goes_section_by_section_and_matches_rules_by_id():
    old = copy.deepcopy(DEFAULT_RULES)
    new = copy.deepcopy(DEFAULT_RULES)
    new["fit"] = [rule for rule in new["fit"] if rule["id"] != "tiny"]  # removed
    new["fit"].reverse()  # order does not matter
    next(rule for rule in new["fit"] if rule["id"] == "midmarket")["value"] = 500  # changed
    new["fit"].append(fit(id="fintech", label="Industry is fintech", points=30))  # added
    new["engagement"][0]["half_life_days"] = 7
    new["thresholds"] = {
        "mql": 70,
        "must_have": [{"id": "biz", "field": "email_is_business", "op": "eq", "value": True}],
    }
    new["screening"]["excluded_countries"] = ["KP"]
    new["sla"]["accept_hours"] = 12

    changes = rules_diff(old, new)

    summary = [(c.section, c.key, c.status) for c in changes]
    assert summary == [
        ("screening", "excluded_countries", "added"),
        ("fit", "midmarket", "changed"),
        ("fit", "fintech", "added"),
        ("fit", "tiny", "removed"),
        ("engagement", "pricing", "changed"),
        ("thresholds", "mql", "changed"),
        ("must_have", "biz", "added"),
        ("sla", "accept_hours", "changed"),
    ]
    midmarket = changes[1]
    assert (midmarket.name, midmarket.old["value"], midmarket.new["value"]) == (
        "Company has 200 or more employees",
        200,
        500,
    )
    assert [(f.key, f.old, f.new) for f in midmarket.fields] == [("value", 200, 500)]
    assert (changes[2].old, changes[2].new["points"]) == (None, 30)
    assert (changes[3].old["points"], changes[3].new) == (-10, None)
    assert [(f.name, f.old, f.new) for f in changes[4].fields] == [("half-life", 14, 7)]
    assert (changes[5].old, changes[5].new) == (60, 70)


def test_the_diff_can_list_what_stayed_the_same():
    new = copy.deepcopy(DEFAULT_RULES)
    new["thresholds"]["mql"] = 65

    changes = rules_diff(DEFAULT_RULES, new, include_same=True)

    statuses = {(c.section, c.key): c.status for c in changes}
    assert statuses[("thresholds", "mql")] == "changed"
    assert statuses[("fit", "senior")] == "same"
    assert sum(1 for c in changes if c.status != "same") == 1


def test_a_changed_label_is_a_change_of_the_same_rule():
    new = copy.deepcopy(DEFAULT_RULES)
    new["fit"][0]["label"] = "Title is VP, C-level"

    [change] = rules_diff(DEFAULT_RULES, new)

    assert (change.key, change.status, change.name) == ("senior", "changed", "Title is VP, C-level")
    assert [(f.key, f.old, f.new) for f in change.fields] == [("label", "Title is VP or above", "Title is VP, C-level")]
