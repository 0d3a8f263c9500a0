"""The rules of a lead definition in plain words, for the pages. Wording only: nothing here decides.

The rules are stored as JSON (see ``scoring.defaults``): fit conditions read as
"Seniority is one of VP, C-level", settings as sentences, values as people write them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.utils.text import capfirst

from leads.models import Account, Activity, Lead

OPERATOR_WORDS = {
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

SCREENING_LABELS = {
    "b2b_only": "Business e-mail addresses only (free and personal e-mail is junk)",
    "competitor_domains": "Competitors (by e-mail or company domain)",
    "excluded_industries": "Excluded industries",
    "block_students": "Students are junk",
    "block_test_entries": "Test entries are junk",
    "block_disposable": "Disposable e-mail addresses are junk",
    "excluded_countries": "Excluded countries",
}

#: Fit rules may name these besides the lead's own fields (see ``scoring.services.lead_facts``).
DERIVED_FIELD_LABELS = {
    "source": "Source",
    "email_domain": "E-mail domain",
    "email_is_business": "E-mail is a business address",
}


@dataclass(frozen=True, slots=True)
class Setting:
    label: str
    value: str


@dataclass(frozen=True, slots=True)
class FitRow:
    label: str
    condition: str
    points: int


@dataclass(frozen=True, slots=True)
class EngagementRow:
    label: str
    activity: str
    points: int
    half_life_days: float | None
    max_count: int | None


def _model_field(name: str) -> Any:
    model, field_name = (Account, name.removeprefix("account_")) if name.startswith("account_") else (Lead, name)
    try:
        return model._meta.get_field(field_name)
    except FieldDoesNotExist:
        return None


def _words(value: Any) -> str:
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, list | tuple):
        return ", ".join(_words(item) for item in value) or "none"
    if value is None or value == "":
        return "—"
    return str(value)


def field_label(name: str) -> str:
    """A field a rule may name, as people say it: ``Employees``, ``Account industry``, ``Source``."""
    if name in DERIVED_FIELD_LABELS:
        return DERIVED_FIELD_LABELS[name]
    field = _model_field(name)
    if field is None:
        return capfirst(name.replace("_", " "))
    if name.startswith("account_"):
        return f"Account {field.verbose_name}"
    return capfirst(str(field.verbose_name))


def fit_condition_text(rule: Mapping[str, Any]) -> str:
    """E.g. ``Seniority is one of VP, C-level``; choice values are shown by their labels."""
    name = str(rule.get("field", ""))
    field = _model_field(name)
    subject = field_label(name)
    op = str(rule.get("op", "eq"))
    words = OPERATOR_WORDS.get(op, op)
    if op in ("is_set", "is_empty"):
        return f"{subject} {words}"
    value = rule.get("value")
    choices = dict(field.flatchoices) if field is not None and field.choices else {}
    if choices:
        values = value if isinstance(value, list | tuple) else [value]
        value = [str(choices.get(item, item)) for item in values]
    return f"{subject} {words} {_words(value)}"


def definition_sections(rules: Mapping[str, Any]) -> dict[str, Any]:
    """The parts of a definition's rules in the shape the page shows them."""
    screening = rules.get("screening", {}) or {}
    activity_labels = dict(Activity.Kind.choices)
    thresholds = rules.get("thresholds", {}) or {}
    dedupe = rules.get("dedupe", {}) or {}
    sla = rules.get("sla", {}) or {}

    sla_lines = []
    if "hot_score" in sla and "hot_accept_hours" in sla:
        sla_lines.append(
            f"Leads scoring {sla['hot_score']} or more must be accepted within {sla['hot_accept_hours']} hours."
        )
    if "accept_hours" in sla:
        sla_lines.append(f"Every other lead must be accepted within {sla['accept_hours']} hours.")
    if "hot_score" in sla and "hot_touch_hours" in sla:
        sla_lines.append(
            f"Once accepted, leads scoring {sla['hot_score']} or more need a first touch within "
            f"{sla['hot_touch_hours']} hours."
        )
    if "touch_hours" in sla:
        sla_lines.append(f"Every other accepted lead needs a first touch within {sla['touch_hours']} hours.")
    if sla_lines:
        sla_lines.append("Hours are the rep's working hours, in their time zone.")
    known_sla = {"hot_score", "hot_accept_hours", "accept_hours", "hot_touch_hours", "touch_hours"}

    dedupe_lines = []
    if "auto_merge" in dedupe:
        dedupe_lines.append(f"Duplicates at least {_percent(dedupe['auto_merge'])} alike are merged automatically.")
    if "review" in dedupe:
        dedupe_lines.append(f"Pairs at least {_percent(dedupe['review'])} alike go to a person for review.")
    known_dedupe = {"auto_merge", "review"}

    # Known settings in a fixed order (JSON columns do not keep key order), then any others.
    screening_keys = [key for key in SCREENING_LABELS if key in screening]
    screening_keys += sorted(key for key in screening if key not in SCREENING_LABELS)
    return {
        "screening": [
            Setting(SCREENING_LABELS.get(key, capfirst(key.replace("_", " "))), _words(screening[key]))
            for key in screening_keys
        ],
        "fit": [
            FitRow(
                label=str(rule.get("label") or rule.get("id", "")),
                condition=fit_condition_text(rule),
                points=int(rule.get("points", 0)),
            )
            for rule in rules.get("fit", ())
        ],
        "engagement": [
            EngagementRow(
                label=str(rule.get("label") or rule.get("id", "")),
                activity=str(activity_labels.get(rule.get("activity"), rule.get("activity", ""))),
                points=int(rule.get("points", 0)),
                half_life_days=rule.get("half_life_days"),
                max_count=rule.get("max_count"),
            )
            for rule in rules.get("engagement", ())
        ],
        "mql_threshold": thresholds.get("mql"),
        "must_have": [
            fit_condition_text(condition)
            for condition in thresholds.get("must_have", ())
            if isinstance(condition, Mapping)
        ],
        "thresholds": [
            Setting(capfirst(key.replace("_", " ")), _words(value))
            for key, value in thresholds.items()
            if key not in ("mql", "must_have")
        ],
        "dedupe": dedupe_lines
        + [f"{capfirst(key.replace('_', ' '))}: {_words(v)}" for key, v in dedupe.items() if key not in known_dedupe],
        "sla": sla_lines
        + [f"{capfirst(key.replace('_', ' '))}: {_words(v)}" for key, v in sla.items() if key not in known_sla],
    }


def _percent(value: Any) -> str:
    try:
        return f"{float(value) * 100:.0f}%"
    except (TypeError, ValueError):
        return str(value)


def points_text(points: Any) -> str:
    return f"{points:+d}" if isinstance(points, int) and not isinstance(points, bool) else str(points)


def rule_text(section: str, rule: Mapping[str, Any] | None) -> str:
    """One rule in a line, for comparing versions: what it looks at and what it is worth."""
    if rule is None:
        return ""
    if section == "engagement":
        activity = dict(Activity.Kind.choices).get(rule.get("activity"), rule.get("activity", ""))
        return (
            f"{activity}: {points_text(rule.get('points'))}, half-life {_words(rule.get('half_life_days'))} days, "
            f"at most {_words(rule.get('max_count'))} counted"
        )
    text = fit_condition_text(rule)
    if section == "fit":
        text += f": {points_text(rule.get('points'))}"
    return text


def value_text(section: str, key: str, value: Any) -> str:
    """One setting's or one rule field's value, in words."""
    if section == "dedupe" and key in ("auto_merge", "review"):
        return _percent(value) if value is not None else "—"
    if key == "op":
        return OPERATOR_WORDS.get(str(value), str(value))
    if key == "field":
        return field_label(str(value)) if value else "—"
    if key == "activity":
        return str(dict(Activity.Kind.choices).get(value, value))
    if key == "points":
        return points_text(value)
    return _words(value)
