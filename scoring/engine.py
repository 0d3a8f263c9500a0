"""The scoring engine: pure functions over plain data, no ORM.

A lead is scored from its fields (and its account's) and its activities at a given moment,
under the rules of one lead-definition version::

    fit rule:         {"id": "vp", "label": "Title is VP or above", "field": "seniority",
                       "op": "in", "value": ["vp", "c_level"], "points": 20}
    engagement rule:  {"id": "pricing", "activity": "pricing_visit", "label": "Visited pricing page",
                       "points": 20, "half_life_days": 14, "max_count": 3}

Every rule that fires gives one line of the breakdown; the total is the sum of the lines, so
the explanation always adds up to the score.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

FIT_OPERATORS = ("eq", "ne", "in", "not_in", "gte", "lte", "contains", "is_set", "is_empty")
#: The MQL threshold of rules that do not name one.
DEFAULT_MQL_THRESHOLD = 60


@dataclass(frozen=True, slots=True)
class ActivityFact:
    kind: str
    occurred_at: datetime


@dataclass(frozen=True, slots=True)
class LeadFacts:
    """What the engine may know about a lead: plain field values and its activities."""

    fields: Mapping[str, Any]
    activities: Sequence[ActivityFact] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True)
class ScoreLine:
    rule_id: str
    kind: str  # "fit" or "engagement"
    label: str
    points: int
    base_points: int
    age_days: float | None = None

    def explain(self) -> str:
        """The line in plain words, e.g. "+15 Visited pricing page 2 days ago (decayed from 20)"."""
        text = f"{self.points:+d} {self.label}"
        if self.age_days is not None:
            days = int(self.age_days)
            text += " today" if days == 0 else f" {days} day{'s' if days != 1 else ''} ago"
            if self.points != self.base_points:
                text += f" (decayed from {self.base_points})"
        return text

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule_id,
            "kind": self.kind,
            "label": self.label,
            "points": self.points,
            "base_points": self.base_points,
            "age_days": None if self.age_days is None else round(self.age_days, 2),
            "text": self.explain(),
        }


@dataclass(frozen=True, slots=True)
class ScoreResult:
    total: int
    fit: int
    engagement: int
    lines: tuple[ScoreLine, ...]

    def breakdown(self) -> list[dict[str, Any]]:
        return [line.as_dict() for line in self.lines]


def fit_rule_matches(rule: Mapping[str, Any], fields: Mapping[str, Any]) -> bool:
    """Whether one fit rule's condition holds for these field values."""
    op = rule.get("op", "eq")
    actual = fields.get(rule["field"])
    expected = rule.get("value")
    if op == "is_set":
        return not _is_blank(actual)
    if op == "is_empty":
        return _is_blank(actual)
    if actual is None or actual == "":
        return False  # a missing value neither earns nor loses points
    if isinstance(actual, str):
        actual = actual.casefold()
        expected = _fold(expected)
    match op:
        case "eq":
            return actual == expected
        case "ne":
            return actual != expected
        case "in":
            return actual in expected
        case "not_in":
            return actual not in expected
        case "gte":
            return actual >= expected
        case "lte":
            return actual <= expected
        case "contains":
            return isinstance(actual, str) and any(part in actual for part in _as_list(expected))
    raise ValueError(f"Unknown operator {op!r}; expected one of {', '.join(FIT_OPERATORS)}")


def decay_factor(age_days: float, half_life_days: float) -> float:
    """Exponential decay: an activity is worth half as much after each half-life."""
    return math.pow(0.5, max(age_days, 0.0) / half_life_days)


def score_lead(facts: LeadFacts, rules: Mapping[str, Any], at: datetime) -> ScoreResult:
    """Score one lead at moment ``at`` under a definition's ``rules``."""
    lines: list[ScoreLine] = []
    for rule in rules.get("fit", ()):
        if fit_rule_matches(rule, facts.fields):
            points = int(rule["points"])
            lines.append(ScoreLine(str(rule["id"]), "fit", rule.get("label", rule["id"]), points, points))
    by_kind: dict[str, list[ActivityFact]] = {}
    for activity in facts.activities:
        by_kind.setdefault(activity.kind, []).append(activity)
    for rule in rules.get("engagement", ()):
        matching = sorted(by_kind.get(rule["activity"], ()), key=lambda a: a.occurred_at, reverse=True)
        base = int(rule["points"])
        half_life = float(rule.get("half_life_days", 30))
        for activity in matching[: int(rule.get("max_count", 3))]:
            age = (at - activity.occurred_at).total_seconds() / 86400
            points = round(base * decay_factor(age, half_life))
            if points:
                lines.append(ScoreLine(str(rule["id"]), "engagement", rule.get("label", rule["id"]), points, base, age))
    fit = sum(line.points for line in lines if line.kind == "fit")
    engagement = sum(line.points for line in lines if line.kind == "engagement")
    return ScoreResult(total=fit + engagement, fit=fit, engagement=engagement, lines=tuple(lines))


def mql_threshold(rules: Mapping[str, Any]) -> int:
    """The score at which a lead qualifies under ``rules``."""
    return int((rules.get("thresholds") or {}).get("mql", DEFAULT_MQL_THRESHOLD))


def requirements_unmet(rules: Mapping[str, Any], fields: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The ``thresholds.must_have`` conditions (each shaped like a fit rule's condition) these fields fail.

    A lead qualifies only when its score reaches the threshold and this list is empty.
    """
    conditions = (rules.get("thresholds") or {}).get("must_have") or ()
    return [condition for condition in conditions if not fit_rule_matches(condition, fields)]


def _is_blank(value: Any) -> bool:
    """No value: None, False, or empty text or list. A zero is a value (``0 in (None, False)`` is true)."""
    return value is None or value is False or (isinstance(value, str | list | tuple) and not value)


def _fold(value: Any) -> Any:
    if isinstance(value, str):
        return value.casefold()
    if isinstance(value, list | tuple):
        return [_fold(v) for v in value]
    return value


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else [value]
