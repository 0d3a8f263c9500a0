"""The definition editor's forms: a draft's rules as fields people can type into, and back.

The forms only translate. Every field is lenient (text in, text kept as typed when it is not what
a rule needs), so that one place, ``scoring.rules``, decides what is valid and says so; its
problems are then put back beside the field or row they name (``DefinitionEditor.show_problems``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django import forms
from django.forms import BaseFormSet, formset_factory
from django.utils.text import slugify

from leads.models import Activity, Lead
from scoring.engine import FIT_OPERATORS
from scoring.rules import DEDUPE_KEYS, FIT_FIELD_KINDS, FIT_FIELDS, SLA_KEYS, SLA_OPTIONAL_KEYS, Problem
from scoring.services import ENGAGEMENT_KINDS
from scoring.wording import OPERATOR_WORDS, field_label

FIELD_CHOICES = [("", "Choose a field…"), *((name, field_label(name)) for name in FIT_FIELDS)]
OPERATOR_CHOICES = [("", "Choose…"), *((op, OPERATOR_WORDS[op]) for op in FIT_OPERATORS)]
ACTIVITY_CHOICES = [("", "Choose an activity…"), *((kind, Activity.Kind(kind).label) for kind in ENGAGEMENT_KINDS)]
SENIORITY_BY_WORD = {
    **{label.casefold(): value for value, label in Lead.Seniority.choices},
    **{value: value for value in Lead.Seniority.values},
}
_YES = {"yes", "true", "1", "y"}
_NO = {"no", "false", "0", "n"}


def _number_input(**attrs: Any) -> forms.NumberInput:
    return forms.NumberInput(attrs={"step": "any", **attrs})


def _text(*, placeholder: str = "", **kwargs: Any) -> forms.CharField:
    if placeholder:
        kwargs["widget"] = forms.TextInput(attrs={"placeholder": placeholder})
    return forms.CharField(required=False, strip=True, **kwargs)


# --- The settings: screening, thresholds, dedupe, SLA, note ---------------------------------------


class DefinitionSettingsForm(forms.Form):
    b2b_only = forms.BooleanField(required=False, label="Business e-mail only (free e-mail is junk)")
    block_students = forms.BooleanField(required=False, label="Students are junk")
    block_test_entries = forms.BooleanField(required=False, label="Test entries are junk")
    block_disposable = forms.BooleanField(required=False, label="Disposable e-mail is junk")
    competitor_domains = _text(
        label="Competitor domains", widget=forms.Textarea(attrs={"rows": 4}), help_text="One per line, e.g. rival.com"
    )
    excluded_industries = _text(
        label="Excluded industries", widget=forms.Textarea(attrs={"rows": 4}), help_text="One per line"
    )
    excluded_countries = _text(
        label="Excluded countries",
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="One two-letter code per line, e.g. KP",
    )
    mql = _text(label="MQL at score ≥", widget=_number_input(step="1"))
    auto_merge = _text(label="Merge duplicates automatically at similarity ≥", widget=_number_input(min="0", max="1"))
    review = _text(label="Send pairs to review at similarity ≥", widget=_number_input(min="0", max="1"))
    hot_score = _text(label="A lead is hot at score ≥", widget=_number_input(step="1"))
    hot_accept_hours = _text(label="Accept hot leads within (hours)", widget=_number_input(min="0"))
    accept_hours = _text(label="Accept other leads within (hours)", widget=_number_input(min="0"))
    hot_touch_hours = _text(
        label="First touch on hot leads within (hours)",
        widget=_number_input(min="0"),
        help_text="After accepting: a call, meeting or note. Empty: no limit.",
    )
    touch_hours = _text(
        label="First touch on other leads within (hours)", widget=_number_input(min="0"), help_text="Empty: no limit."
    )
    note = _text(
        label="Note",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="What changes and why: the approvers and the version history show it.",
    )

    SCREENING_FLAGS = ("b2b_only", "block_students", "block_test_entries", "block_disposable")
    #: What screening assumes for a setting the rules leave out (``leads.screening``).
    SCREENING_IMPLIED = {
        "b2b_only": False,
        "block_students": True,
        "block_test_entries": True,
        "block_disposable": True,
        "competitor_domains": [],
        "excluded_industries": [],
        "excluded_countries": [],
    }

    @classmethod
    def initial_from(cls, rules: Mapping[str, Any], note: str) -> dict[str, Any]:
        screening = _section(rules, "screening")
        thresholds, dedupe, sla = _section(rules, "thresholds"), _section(rules, "dedupe"), _section(rules, "sla")
        initial: dict[str, Any] = {
            key: bool(screening.get(key, cls.SCREENING_IMPLIED[key])) for key in cls.SCREENING_FLAGS
        }
        for key in ("competitor_domains", "excluded_industries", "excluded_countries"):
            initial[key] = "\n".join(str(item) for item in screening.get(key, ()))
        initial["mql"] = _text_of(thresholds.get("mql"))
        for key in ("auto_merge", "review"):
            initial[key] = _text_of(dedupe.get(key))
        for key in SLA_KEYS:
            initial[key] = _text_of(sla.get(key))
        initial["note"] = note
        return initial

    def screening(self, *, before: Mapping[str, Any]) -> dict[str, Any]:
        """The screening settings; one left out ``before`` stays out while it still says what is assumed,
        so saving an untouched draft changes nothing (and withdraws no approval)."""
        data = self.cleaned_data
        screening = {
            **{key: bool(data.get(key)) for key in self.SCREENING_FLAGS},
            "competitor_domains": [line.lower() for line in _lines(data.get("competitor_domains"))],
            "excluded_industries": _lines(data.get("excluded_industries")),
            "excluded_countries": [line.upper() for line in _lines(data.get("excluded_countries"))],
        }
        return {key: value for key, value in screening.items() if key in before or value != self.SCREENING_IMPLIED[key]}


# --- Rows: fit rules, engagement rules, must-have conditions --------------------------------------


class _RuleRowForm(forms.Form):
    """One row of a rules table; ``id`` is kept hidden so a rule stays itself when its label changes."""

    id = forms.CharField(required=False, widget=forms.HiddenInput)
    label = _text(label="Label", max_length=500)

    #: Fields that, left empty, make a row blank (a blank added row is ignored, not an error).
    content_fields: tuple[str, ...] = ()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The rows are table cells under column headings: each input still says what it is.
        for name, field in self.fields.items():
            field.widget.attrs.setdefault("aria-label", "Remove" if name == "DELETE" else str(field.label))

    def is_blank(self) -> bool:
        data = getattr(self, "cleaned_data", {})
        return not any(data.get(name) not in (None, "") for name in self.content_fields)


class ConditionRowForm(_RuleRowForm):
    label = _text(label="Label (optional)", max_length=500)
    field = forms.ChoiceField(label="Field", choices=FIELD_CHOICES, required=False)
    op = forms.ChoiceField(label="Operator", choices=OPERATOR_CHOICES, required=False)
    value = _text(label="Value", max_length=2000, placeholder="e.g. fintech, software")

    content_fields = ("label", "field", "op", "value")

    @staticmethod
    def initial_from(rule: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "id": rule.get("id", ""),
            "label": rule.get("label", ""),
            "field": rule.get("field", ""),
            "op": rule.get("op", ""),
            "value": condition_value_text(str(rule.get("field", "")), rule.get("value")),
        }

    def to_rule(self) -> dict[str, Any]:
        data = self.cleaned_data
        rule: dict[str, Any] = {"id": data.get("id") or ""}
        if data.get("label"):
            rule["label"] = data["label"]
        field, op = data.get("field") or "", data.get("op") or ""
        rule.update(field=field, op=op)
        value = condition_value(field, op, data.get("value") or "")
        if value is not None or op not in ("is_set", "is_empty"):
            rule["value"] = value
        return rule


class FitRowForm(ConditionRowForm):
    label = _text(label="Label", max_length=500, placeholder="e.g. Industry is fintech")
    points = _text(label="Points", widget=_number_input(step="1", min="-100", max="100"))

    content_fields = ("label", "field", "op", "value", "points")

    @staticmethod
    def initial_from(rule: Mapping[str, Any]) -> dict[str, Any]:
        return {**ConditionRowForm.initial_from(rule), "points": _text_of(rule.get("points"))}

    def to_rule(self) -> dict[str, Any]:
        rule = super().to_rule()
        rule.setdefault("label", "")
        return {**rule, "points": parse_number(self.cleaned_data.get("points") or "")}


class EngagementRowForm(_RuleRowForm):
    activity = forms.ChoiceField(label="Activity", choices=ACTIVITY_CHOICES, required=False)
    label = _text(label="Label", max_length=500, placeholder="e.g. Attended a webinar")
    points = _text(label="Points", widget=_number_input(step="1", min="-100", max="100"))
    half_life_days = _text(label="Half-life (days)", widget=_number_input(min="0"))
    max_count = _text(label="Counts at most", widget=_number_input(step="1", min="1"))

    content_fields = ("activity", "label", "points", "half_life_days", "max_count")

    @staticmethod
    def initial_from(rule: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "id": rule.get("id", ""),
            "activity": rule.get("activity", ""),
            "label": rule.get("label", ""),
            "points": _text_of(rule.get("points")),
            "half_life_days": _text_of(rule.get("half_life_days")),
            "max_count": _text_of(rule.get("max_count")),
        }

    def to_rule(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "id": data.get("id") or "",
            "activity": data.get("activity") or "",
            "label": data.get("label") or "",
            "points": parse_number(data.get("points") or ""),
            "half_life_days": parse_number(data.get("half_life_days") or ""),
            "max_count": parse_number(data.get("max_count") or ""),
        }


class _RowFormSet(BaseFormSet):
    def rows(self) -> list[_RuleRowForm]:
        """The rows that make rules: not removed, not left blank."""
        return [form for form in self.forms if not self._should_delete_form(form) and not form.is_blank()]


FitFormSet = formset_factory(FitRowForm, formset=_RowFormSet, extra=0, can_delete=True)
EngagementFormSet = formset_factory(EngagementRowForm, formset=_RowFormSet, extra=0, can_delete=True)
MustHaveFormSet = formset_factory(ConditionRowForm, formset=_RowFormSet, extra=0, can_delete=True)


# --- The whole editor ------------------------------------------------------------------------------


class DefinitionEditor:
    """Every form of the editor for one draft, and the rules they add up to."""

    ROW_SECTIONS = ("fit", "engagement", "must_have")

    def __init__(self, *, rules: Mapping[str, Any], note: str, data: Mapping[str, Any] | None = None) -> None:
        thresholds = _section(rules, "thresholds")
        self.before = rules
        self.settings = DefinitionSettingsForm(data=data, initial=DefinitionSettingsForm.initial_from(rules, note))
        self.fit = FitFormSet(data=data, prefix="fit", initial=_initial_rows(FitRowForm, rules.get("fit")))
        self.engagement = EngagementFormSet(
            data=data, prefix="engagement", initial=_initial_rows(EngagementRowForm, rules.get("engagement"))
        )
        self.must_have = MustHaveFormSet(
            data=data, prefix="must_have", initial=_initial_rows(ConditionRowForm, thresholds.get("must_have"))
        )
        self.problems: list[Problem] = []
        self._rows: dict[str, list[_RuleRowForm]] = {}

    @property
    def formsets(self) -> dict[str, _RowFormSet]:
        return {"fit": self.fit, "engagement": self.engagement, "must_have": self.must_have}

    def is_valid(self) -> bool:
        valid = self.settings.is_valid()
        for formset in self.formsets.values():
            valid = formset.is_valid() and valid
        return valid

    @property
    def has_errors(self) -> bool:
        return bool(
            self.problems
            or self.settings.errors
            or any(formset.non_form_errors() or any(formset.errors) for formset in self.formsets.values())
        )

    @property
    def note(self) -> str:
        return self.settings.cleaned_data.get("note", "")

    def rules(self) -> dict[str, Any]:
        """The rules the forms hold (after ``is_valid``), remembering which row made which rule."""
        data = self.settings.cleaned_data
        self._rows = {section: self.formsets[section].rows() for section in self.ROW_SECTIONS}
        fit = [form.to_rule() for form in self._rows["fit"]]
        engagement = [form.to_rule() for form in self._rows["engagement"]]
        must_have = [form.to_rule() for form in self._rows["must_have"]]
        _fill_ids(fit, prefix="fit")
        _fill_ids(engagement, prefix="engagement", fallback_key="activity")
        _fill_ids(must_have, prefix="must", fallback_key="field")
        thresholds: dict[str, Any] = {"mql": parse_number(data.get("mql") or "")}
        if must_have:
            thresholds["must_have"] = must_have
        return {
            "screening": self.settings.screening(before=_section(self.before, "screening")),
            "fit": fit,
            "engagement": engagement,
            "thresholds": thresholds,
            "dedupe": {key: parse_number(data.get(key) or "") for key in DEDUPE_KEYS},
            "sla": {
                key: parse_number(data.get(key) or "")
                for key in SLA_KEYS
                if key not in SLA_OPTIONAL_KEYS or (data.get(key) or "").strip()
            },
        }

    def show_problems(self, problems: Iterable[Problem]) -> None:
        """Put each of ``scoring.rules``' problems beside the field or row it names (the page lists
        them all at the top too, so one that names no field is still shown)."""
        self.problems = list(problems)
        for problem in self.problems:
            form, name = self._place(problem)
            if form is not None:
                form.add_error(name, problem.message)

    def _place(self, problem: Problem) -> tuple[forms.Form | None, str | None]:
        if problem.section in self.ROW_SECTIONS and problem.index is not None:
            rows = self._rows.get(problem.section, [])
            if problem.index < len(rows):
                form = rows[problem.index]
                return form, problem.key if problem.key in form.fields and problem.key != "id" else None
            return None, None
        if problem.key in self.settings.fields:
            return self.settings, problem.key
        return None, None


# --- Values as typed and as stored ----------------------------------------------------------------


def parse_number(text: str) -> Any:
    """``"12"`` → 12, ``"0.5"`` → 0.5; anything else is kept as typed, for the rules check to name."""
    text = text.strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        pass
    try:
        number = float(text)
    except ValueError:
        return text
    if not math.isfinite(number):
        return text
    return int(number) if number.is_integer() and "." not in text and "e" not in text.lower() else number


def _condition_item(kind: str, text: str) -> Any:
    if kind == "number":
        return parse_number(text)
    if kind == "yes_no":
        word = text.casefold()
        return True if word in _YES else False if word in _NO else text
    if kind == "seniority":
        return SENIORITY_BY_WORD.get(text.casefold(), text)
    if kind == "country":
        return text.upper()
    return text


def condition_value(field: str, op: str, text: str) -> Any:
    """The value of a condition from what was typed: a list for "is one of", a number for "at least"…"""
    text = text.strip()
    kind = FIT_FIELD_KINDS.get(field, "text")
    if op in ("is_set", "is_empty"):
        return text or None
    if op in ("in", "not_in"):
        return [_condition_item(kind, part) for part in _split(text)]
    if op == "contains":
        parts = _split(text)
        return parts[0] if len(parts) == 1 else parts
    if op in ("gte", "lte"):
        return parse_number(text)
    return _condition_item(kind, text) if text else ""


def condition_value_text(field: str, value: Any) -> str:
    """A stored condition value as the editor shows it: lists comma-separated, choices by their labels."""
    kind = FIT_FIELD_KINDS.get(field, "text")
    if isinstance(value, list | tuple):
        return ", ".join(condition_value_text(field, item) for item in value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if kind == "seniority" and isinstance(value, str) and value in Lead.Seniority.values:
        return str(Lead.Seniority(value).label)
    return str(value)


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _lines(text: str | None) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def _text_of(value: Any) -> str:
    return "" if value is None else str(value)


def _section(rules: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = rules.get(name)
    return value if isinstance(value, Mapping) else {}


def _initial_rows(form: type[_RuleRowForm], rules: Any) -> list[dict[str, Any]]:
    if not isinstance(rules, list):
        return []
    return [form.initial_from(rule) for rule in rules if isinstance(rule, Mapping)]  # type: ignore[attr-defined]


def _fill_ids(rules: Sequence[dict[str, Any]], *, prefix: str, fallback_key: str = "field") -> None:
    """Give each new rule an id made from its label (unique in its list); kept rules keep theirs."""
    taken = {rule["id"] for rule in rules if rule.get("id")}
    for rule in rules:
        if rule.get("id"):
            continue
        base = slugify(str(rule.get("label") or rule.get(fallback_key) or prefix)).replace("-", "_")
        base = re.sub(r"[^a-z0-9_]", "", base)[:34].strip("_") or prefix
        candidate, number = base, 2
        while candidate in taken:
            candidate, number = f"{base}_{number}", number + 1
        rule["id"] = candidate
        taken.add(candidate)
