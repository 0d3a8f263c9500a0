"""Checking and comparing a lead definition's rules: pure functions over the rules dict, no queries.

The rules of one version (see ``scoring.defaults.DEFAULT_RULES``)::

    {"screening": {"b2b_only": true, "block_students": true, "block_test_entries": true,
                   "block_disposable": true, "competitor_domains": ["rival.com"],
                   "excluded_industries": ["government"], "excluded_countries": ["KP"]},
     "fit": [{"id", "label", "field", "op", "value", "points"}, ...],
     "engagement": [{"id", "activity", "label", "points", "half_life_days", "max_count"}, ...],
     "thresholds": {"mql": 60, "must_have": [{"id", "label", "field", "op", "value"}, ...]},
     "dedupe": {"auto_merge": 0.92, "review": 0.75},
     "sla": {"hot_score": 80, "hot_accept_hours": 2, "accept_hours": 24, "hot_touch_hours": 4, "touch_hours": 48}}

SLA hours are the rep's working hours (their days, hours and time zone); the touch hours (the first
call, meeting or note after accepting) are optional.

``rules_validate`` says what is wrong, keyed by a path a person can follow
("fit rule 3 (“Title is VP”) › field"); ``rules_problems`` gives the same problems with their
section, position and key, so a form can put each message beside the field it names.
``rules_diff`` compares two versions section by section and rule by rule (rules are matched by id).
"""  # noqa: RUF002 (the path separator is the one the pages show)

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from leads.models import Activity, Lead
from scoring.engine import FIT_OPERATORS
from scoring.services import ENGAGEMENT_KINDS, LEAD_FIELDS

# --- What the rules may name ---------------------------------------------------------------------

#: Fields a fit rule or must-have condition may name, with the kind of value each holds
#: (``scoring.services.lead_fields`` provides them).
FIT_FIELD_KINDS: dict[str, str] = {
    **dict.fromkeys(LEAD_FIELDS, "text"),
    "employees": "number",
    "seniority": "seniority",
    "country": "country",
    "source": "text",
    "email_domain": "text",
    "email_is_business": "yes_no",
    "account_industry": "text",
    "account_employees": "number",
    "account_country": "country",
}
FIT_FIELDS = tuple(FIT_FIELD_KINDS)

SENIORITIES = tuple(Lead.Seniority.values)
NOT_ENGAGEMENT = tuple(kind for kind in Activity.Kind.values if kind not in ENGAGEMENT_KINDS)

SCREENING_FLAGS = ("b2b_only", "block_students", "block_test_entries", "block_disposable")
SCREENING_LISTS = ("competitor_domains", "excluded_industries", "excluded_countries")
SECTIONS = ("screening", "fit", "engagement", "thresholds", "dedupe", "sla")

FIT_KEYS = ("id", "label", "field", "op", "value", "points")
CONDITION_KEYS = ("id", "label", "field", "op", "value")
ENGAGEMENT_KEYS = ("id", "activity", "label", "points", "half_life_days", "max_count")
THRESHOLD_KEYS = ("mql", "must_have")
DEDUPE_KEYS = ("auto_merge", "review")
SLA_KEYS = ("hot_score", "hot_accept_hours", "accept_hours", "hot_touch_hours", "touch_hours")
#: Optional SLA settings: how soon an accepted lead must get its first call, meeting or note (none when left out).
SLA_OPTIONAL_KEYS = ("hot_touch_hours", "touch_hours")

POINTS_LIMIT = 100
MQL_LIMIT = 1000
HALF_LIFE_LIMIT_DAYS = 3650
MAX_COUNT_LIMIT = 100
LABEL_LIMIT = 120
RULE_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
DOMAIN = re.compile(r"^(?=.{4,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$", re.I)
COUNTRY_CODE = re.compile(r"^[A-Za-z]{2}$")

PATH_SEPARATOR = " \u203a "  # a single right-pointing angle quotation mark
#: How the path of a problem names each part; the editor shows the same words.
SECTION_NAMES = {
    "screening": "screening",
    "fit": "fit rule",
    "engagement": "engagement rule",
    "thresholds": "thresholds",
    "must_have": "must-have condition",
    "dedupe": "dedupe",
    "sla": "SLA",
}
KEY_NAMES = {
    "id": "id",
    "label": "label",
    "field": "field",
    "op": "operator",
    "value": "value",
    "points": "points",
    "activity": "activity",
    "half_life_days": "half-life",
    "max_count": "counts at most",
    "mql": "MQL at",
    "must_have": "must-have conditions",
    "auto_merge": "auto-merge at",
    "review": "review at",
    "hot_score": "hot at score",
    "hot_accept_hours": "hot: accept within hours",
    "accept_hours": "accept within hours",
    "hot_touch_hours": "hot: first touch within hours",
    "touch_hours": "first touch within hours",
    "b2b_only": "business e-mail only",
    "block_students": "block students",
    "block_test_entries": "block test entries",
    "block_disposable": "block disposable e-mail",
    "competitor_domains": "competitor domains",
    "excluded_industries": "excluded industries",
    "excluded_countries": "excluded countries",
}
OPERATOR_NAMES = {
    "eq": "is",
    "ne": "is not",
    "in": "is one of",
    "not_in": "is not one of",
    "gte": "is at least",
    "lte": "is at most",
    "contains": "contains",
    "is_set": "is filled in",
    "is_empty": "is empty",
}


# --- Validation ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with the rules, and exactly where."""

    section: str  # one of SECTION_NAMES, or "" for the rules as a whole
    index: int | None  # the rule's position in its list (0-based); None for a setting
    key: str  # the key inside the rule or section; "" for the rule or section as a whole
    path: str  # e.g. "fit rule 3 (“Title is VP”) › field"  # noqa: RUF003
    message: str


def rules_validate(rules: Any) -> dict[str, list[str]]:
    """What is wrong with ``rules``, as ``{readable path: [messages]}``; empty when they are fine."""
    errors: dict[str, list[str]] = {}
    for problem in rules_problems(rules):
        errors.setdefault(problem.path, []).append(problem.message)
    return errors


def rules_problems(rules: Any) -> list[Problem]:
    """Every problem with ``rules``, in the order the editor shows the sections."""
    found = _Problems()
    if not isinstance(rules, Mapping):
        found.add(_Where("", None, "rules"), "", "The rules must be an object with the sections " + _listing(SECTIONS))
        return found.items
    for key in rules:
        if key not in SECTIONS:
            found.add(_Where("", None, str(key)), "", f"Unknown section “{key}”; sections are: {_listing(SECTIONS)}")
    _check_screening(rules.get("screening", {}), found)
    _check_rule_list("fit", rules.get("fit", []), _check_fit_rule, found)
    _check_rule_list("engagement", rules.get("engagement", []), _check_engagement_rule, found)
    _check_thresholds(rules.get("thresholds"), found)
    _check_dedupe(rules.get("dedupe"), found)
    _check_sla(rules.get("sla"), found)
    return found.items


@dataclass(frozen=True, slots=True)
class _Where:
    section: str
    index: int | None
    path: str


@dataclass
class _Problems:
    items: list[Problem] = field(default_factory=list)

    def add(self, where: _Where, key: str, message: str) -> None:
        path = f"{where.path}{PATH_SEPARATOR}{KEY_NAMES.get(key, key)}" if key else where.path
        self.items.append(Problem(where.section, where.index, key, path, message))


def _check_screening(screening: Any, found: _Problems) -> None:
    where = _Where("screening", None, SECTION_NAMES["screening"])
    if not isinstance(screening, Mapping):
        found.add(where, "", "Screening must be an object of settings")
        return
    for key, value in screening.items():
        if key in SCREENING_FLAGS:
            if not isinstance(value, bool):
                found.add(where, key, f"“{KEY_NAMES[key]}” is on or off (true or false), not “{value}”")
        elif key in SCREENING_LISTS:
            _check_screening_list(where, key, value, found)
        else:
            known = _listing(SCREENING_FLAGS + SCREENING_LISTS)
            found.add(where, key, f"Unknown setting “{key}”; settings are: {known}")


def _check_screening_list(where: _Where, key: str, value: Any, found: _Problems) -> None:
    if not isinstance(value, list):
        found.add(where, key, f"“{KEY_NAMES[key]}” must be a list")
        return
    for item in value:
        if not isinstance(item, str) or not item.strip():
            found.add(where, key, f"Every entry must be text; “{item}” is not")
        elif key == "competitor_domains" and not DOMAIN.match(item):
            found.add(where, key, f"“{item}” does not look like a web domain (e.g. rival.com)")
        elif key == "excluded_countries" and not COUNTRY_CODE.match(item):
            found.add(where, key, f"“{item}” is not a two-letter country code (ISO 3166-1, e.g. US)")


def _check_rule_list(section: str, rules: Any, check: Any, found: _Problems) -> None:
    if not isinstance(rules, list):
        found.add(_Where(section, None, section), "", f"The {SECTION_NAMES[section]}s must be a list")
        return
    seen: dict[str, int] = {}
    for index, rule in enumerate(rules):
        where = _rule_where(section, index, rule)
        if not isinstance(rule, Mapping):
            found.add(where, "", "Each rule must be an object")
            continue
        check(where, rule, found)
        rule_id = rule.get("id")
        if isinstance(rule_id, str) and rule_id in seen:
            found.add(where, "id", f"Rule id “{rule_id}” is also used by {SECTION_NAMES[section]} {seen[rule_id] + 1}")
        elif isinstance(rule_id, str):
            seen[rule_id] = index


def _rule_where(section: str, index: int, rule: Any) -> _Where:
    label = rule.get("label") if isinstance(rule, Mapping) else None
    path = f"{SECTION_NAMES[section]} {index + 1}"
    if isinstance(label, str) and label.strip():
        path += f" (“{label.strip()}”)"
    return _Where(section, index, path)


def _check_id_and_label(
    where: _Where, rule: Mapping[str, Any], found: _Problems, *, id_required: bool, label_required: bool
) -> None:
    rule_id = rule.get("id")
    if rule_id in (None, ""):
        if id_required:
            found.add(where, "id", "Every rule needs an id")
    elif not isinstance(rule_id, str) or not RULE_ID.match(rule_id):
        found.add(where, "id", f"“{rule_id}” is not a rule id: use up to 40 lower-case letters, digits, _ and -")
    label = rule.get("label")
    if label in (None, ""):
        if label_required:
            found.add(where, "label", "Give the rule a label: it is the line people read in a lead's score")
    elif not isinstance(label, str) or not label.strip():
        found.add(where, "label", "The label must be text")
    elif len(label) > LABEL_LIMIT:
        found.add(where, "label", f"Keep the label to {LABEL_LIMIT} characters (it has {len(label)})")


def _check_unknown_keys(where: _Where, rule: Mapping[str, Any], known: Sequence[str], found: _Problems) -> None:
    for key in rule:
        if key not in known:
            found.add(where, "", f"Unknown key “{key}”; a rule has: {_listing(known)}")


def _check_fit_rule(where: _Where, rule: Mapping[str, Any], found: _Problems) -> None:
    _check_unknown_keys(where, rule, FIT_KEYS, found)
    _check_id_and_label(where, rule, found, id_required=True, label_required=True)
    _check_condition(where, rule, found)
    _check_points(where, rule, found)


def _check_points(where: _Where, rule: Mapping[str, Any], found: _Problems) -> None:
    points = rule.get("points")
    if points in (None, ""):
        found.add(where, "points", f"Give the rule its points (from -{POINTS_LIMIT} to {POINTS_LIMIT})")
    elif not _is_int(points) or not -POINTS_LIMIT <= points <= POINTS_LIMIT:
        found.add(
            where, "points", f"Points must be a whole number from -{POINTS_LIMIT} to {POINTS_LIMIT}, not “{points}”"
        )


def _check_condition(where: _Where, rule: Mapping[str, Any], found: _Problems) -> None:
    """The part fit rules and must-have conditions share: a field, an operator and a value."""
    name, op, value = rule.get("field"), rule.get("op"), rule.get("value")
    field_ok = op_ok = False
    if name in (None, ""):
        found.add(where, "field", "Choose a field")
    elif name not in FIT_FIELD_KINDS:
        found.add(where, "field", f"Unknown field “{name}”; fields are: {_listing(FIT_FIELDS)}")
    else:
        field_ok = True
    if op in (None, ""):
        found.add(where, "op", "Choose an operator")
    elif op not in FIT_OPERATORS:
        found.add(where, "op", f"Unknown operator “{op}”; operators are: {_listing(FIT_OPERATORS)}")
    else:
        op_ok = True
    if field_ok and op_ok:
        message = _condition_value_problem(str(name), str(op), value)
        if message:
            found.add(where, "value", message)


def _condition_value_problem(name: str, op: str, value: Any) -> str | None:
    kind = FIT_FIELD_KINDS[name]
    words = OPERATOR_NAMES[op]
    if op in ("is_set", "is_empty"):
        if not _is_blank(value):
            return f"“{words}” compares with nothing: leave the value empty"
        return None
    if _is_blank(value):
        return f"Enter a value for “{words}”"
    if op in ("in", "not_in"):
        if not isinstance(value, list):
            return f"“{words}” takes a list of values, not one"
        problems = [_item_problem(name, kind, item) for item in value]
        return next((p for p in problems if p), None)
    if isinstance(value, list):
        return f"“{words}” takes one value; use “is one of” for several"
    if op in ("gte", "lte"):
        if kind != "number":
            return f"“{words}” compares numbers, and “{name}” is not a number"
        if not _is_number(value):
            return f"“{words}” needs a number, not “{value}”"
        return None
    if op == "contains":
        if kind == "number" or kind == "yes_no":
            return f"“contains” looks inside text, and “{name}” is not text"
        return None if isinstance(value, str) else f"“contains” needs text, not “{value}”"
    return _item_problem(name, kind, value)


def _item_problem(name: str, kind: str, item: Any) -> str | None:
    if kind == "number":
        return None if _is_number(item) else f"“{name}” is a number; “{item}” is not"
    if kind == "yes_no":
        return None if isinstance(item, bool) else f"“{name}” is yes or no (true or false), not “{item}”"
    if not isinstance(item, str) or not item.strip():
        return f"“{name}” is text; “{item}” is not"
    if kind == "seniority" and item.casefold() not in SENIORITIES:
        return f"Unknown seniority “{item}”; seniorities are: {_listing(SENIORITIES)}"
    if kind == "country" and not COUNTRY_CODE.match(item):
        return f"“{item}” is not a two-letter country code (ISO 3166-1, e.g. US)"
    return None


def _check_engagement_rule(where: _Where, rule: Mapping[str, Any], found: _Problems) -> None:
    _check_unknown_keys(where, rule, ENGAGEMENT_KEYS, found)
    _check_id_and_label(where, rule, found, id_required=True, label_required=True)
    activity = rule.get("activity")
    if activity in (None, ""):
        found.add(where, "activity", "Choose an activity")
    elif activity in NOT_ENGAGEMENT:
        label = Activity.Kind(activity).label
        found.add(where, "activity", f"“{label}” is not engagement: notes, calls, meetings and notices score nothing")
    elif activity not in ENGAGEMENT_KINDS:
        found.add(where, "activity", f"Unknown activity “{activity}”; activities are: {_listing(ENGAGEMENT_KINDS)}")
    _check_points(where, rule, found)
    half_life = rule.get("half_life_days")
    if half_life in (None, ""):
        found.add(where, "half_life_days", "Give the half-life in days")
    elif not _is_number(half_life):
        found.add(where, "half_life_days", f"Half-life must be a number of days, not “{half_life}”")
    elif half_life <= 0:
        found.add(where, "half_life_days", "Half-life must be more than 0 days")
    elif half_life > HALF_LIFE_LIMIT_DAYS:
        found.add(where, "half_life_days", f"Half-life must be at most {HALF_LIFE_LIMIT_DAYS} days")
    max_count = rule.get("max_count")
    if max_count in (None, ""):
        found.add(where, "max_count", "Say how many of these activities count at most")
    elif not _is_int(max_count) or not 1 <= max_count <= MAX_COUNT_LIMIT:
        found.add(where, "max_count", f"Counts at most must be a whole number from 1 to {MAX_COUNT_LIMIT}")


def _check_thresholds(thresholds: Any, found: _Problems) -> None:
    where = _Where("thresholds", None, SECTION_NAMES["thresholds"])
    if not isinstance(thresholds, Mapping):
        found.add(where, "mql", "Set the MQL threshold")
        return
    for key in thresholds:
        if key not in THRESHOLD_KEYS:
            found.add(where, str(key), f"Unknown setting “{key}”; settings are: {_listing(THRESHOLD_KEYS)}")
    mql = thresholds.get("mql")
    if mql in (None, ""):
        found.add(where, "mql", "Set the MQL threshold")
    elif not _is_int(mql) or not 1 <= mql <= MQL_LIMIT:
        found.add(where, "mql", f"The MQL threshold must be a whole number from 1 to {MQL_LIMIT}, not “{mql}”")
    must_have = thresholds.get("must_have", [])
    if not isinstance(must_have, list):
        found.add(where, "must_have", "Must-have conditions must be a list")
        return
    seen: dict[str, int] = {}
    for index, condition in enumerate(must_have):
        rule_where = _rule_where("must_have", index, condition)
        if not isinstance(condition, Mapping):
            found.add(rule_where, "", "Each condition must be an object with a field, an operator and a value")
            continue
        _check_unknown_keys(rule_where, condition, CONDITION_KEYS, found)
        _check_id_and_label(rule_where, condition, found, id_required=False, label_required=False)
        _check_condition(rule_where, condition, found)
        rule_id = condition.get("id")
        if isinstance(rule_id, str) and rule_id in seen:
            found.add(rule_where, "id", f"Id “{rule_id}” is also used by must-have condition {seen[rule_id] + 1}")
        elif isinstance(rule_id, str):
            seen[rule_id] = index


def _check_dedupe(dedupe: Any, found: _Problems) -> None:
    where = _Where("dedupe", None, SECTION_NAMES["dedupe"])
    if not isinstance(dedupe, Mapping):
        found.add(where, "", "Set when duplicates are merged and when they go to review")
        return
    _check_unknown_settings(where, dedupe, DEDUPE_KEYS, found)
    for key in DEDUPE_KEYS:
        value = dedupe.get(key)
        if value in (None, ""):
            found.add(where, key, "Give a similarity from 0 to 1 (e.g. 0.9)")
        elif not _is_number(value) or not 0 <= value <= 1:
            found.add(where, key, f"Similarity must be a number from 0 to 1 (e.g. 0.9), not “{value}”")
    auto_merge, review = dedupe.get("auto_merge"), dedupe.get("review")
    both_valid = _is_number(auto_merge) and _is_number(review) and 0 <= auto_merge <= 1 and 0 <= review <= 1
    if both_valid and review >= auto_merge:
        found.add(where, "review", f"Review must be below auto-merge ({auto_merge}), or nothing is left to review")


def _check_sla(sla: Any, found: _Problems) -> None:
    where = _Where("sla", None, SECTION_NAMES["sla"])
    if not isinstance(sla, Mapping):
        found.add(where, "", "Set how fast sales must accept a lead")
        return
    _check_unknown_settings(where, sla, SLA_KEYS, found)
    hot_score = sla.get("hot_score")
    if hot_score in (None, ""):
        found.add(where, "hot_score", "Say from which score a lead is hot")
    elif not _is_int(hot_score) or not 1 <= hot_score <= MQL_LIMIT:
        found.add(where, "hot_score", f"The hot score must be a whole number from 1 to {MQL_LIMIT}, not “{hot_score}”")
    for key in ("hot_accept_hours", "accept_hours", *SLA_OPTIONAL_KEYS):
        hours = sla.get(key)
        if hours in (None, "") and key in SLA_OPTIONAL_KEYS:
            continue
        if hours in (None, ""):
            found.add(where, key, "Give the hours")
        elif not _is_number(hours):
            found.add(where, key, f"Hours must be a number, not “{hours}”")
        elif hours <= 0:
            found.add(where, key, "Hours must be more than 0")


def _check_unknown_settings(where: _Where, section: Mapping[str, Any], known: Sequence[str], found: _Problems) -> None:
    for key in section:
        if key not in known:
            found.add(where, str(key), f"Unknown setting “{key}”; settings are: {_listing(known)}")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str | list) and not value)


def _listing(names: Sequence[str]) -> str:
    return ", ".join(names)


# --- Comparing two versions ----------------------------------------------------------------------

Status = Literal["added", "removed", "changed", "same"]

#: Sections in the order a comparison lists them; must-have conditions are rules of their own.
DIFF_SECTIONS = ("screening", "fit", "engagement", "thresholds", "must_have", "dedupe", "sla")
_RULE_SECTIONS = ("fit", "engagement", "must_have")


@dataclass(frozen=True, slots=True)
class FieldChange:
    key: str
    name: str
    old: Any
    new: Any


@dataclass(frozen=True, slots=True)
class Change:
    """One setting or rule as it differs between two versions (or is the same, when asked for)."""

    section: str  # one of DIFF_SECTIONS, or "other" for sections the rules do not know
    key: str  # the setting's key, or the rule's id
    name: str  # readable: the setting's name or the rule's label
    status: Status
    old: Any  # the old value or rule; None when added
    new: Any  # the new value or rule; None when removed
    fields: tuple[FieldChange, ...] = ()  # for a changed rule: what changed in it


def rules_diff(old: Mapping[str, Any], new: Mapping[str, Any], *, include_same: bool = False) -> list[Change]:
    """What changed from ``old`` to ``new``, section by section; rules are matched by their id.

    The order of rules does not matter to scoring, so a rule that only moved is the same rule.
    """
    old, new = old or {}, new or {}
    changes: list[Change] = []
    for section in DIFF_SECTIONS:
        if section in _RULE_SECTIONS:
            changes += _diff_rules(section, _rule_list(old, section), _rule_list(new, section), include_same)
        else:
            skip = ("must_have",) if section == "thresholds" else ()
            changes += _diff_settings(section, _settings(old, section), _settings(new, section), include_same, skip)
    unknown_old = {key: value for key, value in old.items() if key not in SECTIONS}
    unknown_new = {key: value for key, value in new.items() if key not in SECTIONS}
    changes += _diff_settings("other", unknown_old, unknown_new, include_same)
    return changes


def _settings(rules: Mapping[str, Any], section: str) -> Mapping[str, Any]:
    value = rules.get(section)
    return value if isinstance(value, Mapping) else {}


def _rule_list(rules: Mapping[str, Any], section: str) -> list[Mapping[str, Any]]:
    value = _settings(rules, "thresholds").get("must_have") if section == "must_have" else rules.get(section)
    return [rule for rule in value if isinstance(rule, Mapping)] if isinstance(value, list) else []


def _diff_settings(
    section: str,
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    include_same: bool,
    skip: Sequence[str] = (),
) -> list[Change]:
    changes = []
    keys = [*old, *(key for key in new if key not in old)]
    for key in keys:
        if key in skip:
            continue
        name = KEY_NAMES.get(key, str(key).replace("_", " "))
        if key not in new:
            changes.append(Change(section, key, name, "removed", old[key], None))
        elif key not in old:
            changes.append(Change(section, key, name, "added", None, new[key]))
        elif old[key] != new[key]:
            changes.append(Change(section, key, name, "changed", old[key], new[key]))
        elif include_same:
            changes.append(Change(section, key, name, "same", old[key], new[key]))
    return changes


def _rule_key(rule: Mapping[str, Any], index: int) -> str:
    rule_id = rule.get("id")
    return str(rule_id) if rule_id not in (None, "") else f"#{index + 1}"


def _rule_name(rule: Mapping[str, Any], key: str) -> str:
    label = rule.get("label")
    return str(label) if isinstance(label, str) and label.strip() else key


def _diff_rules(
    section: str, old: list[Mapping[str, Any]], new: list[Mapping[str, Any]], include_same: bool
) -> list[Change]:
    old_by_key = {_rule_key(rule, i): rule for i, rule in enumerate(old)}
    new_by_key = {_rule_key(rule, i): rule for i, rule in enumerate(new)}
    changes = []
    for key, rule in new_by_key.items():
        before = old_by_key.get(key)
        if before is None:
            changes.append(Change(section, key, _rule_name(rule, key), "added", None, rule))
            continue
        fields = tuple(
            FieldChange(name, KEY_NAMES.get(name, name), before.get(name), rule.get(name))
            for name in [*before, *(k for k in rule if k not in before)]
            if before.get(name) != rule.get(name)
        )
        if fields:
            changes.append(Change(section, key, _rule_name(rule, key), "changed", before, rule, fields))
        elif include_same:
            changes.append(Change(section, key, _rule_name(rule, key), "same", before, rule))
    for key, rule in old_by_key.items():
        if key not in new_by_key:
            changes.append(Change(section, key, _rule_name(rule, key), "removed", rule, None))
    return changes
