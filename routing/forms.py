"""Forms for routing's pages and admin: they translate what people type; ``routing.services`` decides."""

from __future__ import annotations

from typing import Any
from zoneinfo import available_timezones

from django import forms
from django.contrib.auth import get_user_model
from django.utils.text import slugify

from routing.models import Rep, Territory
from routing.preview import LEAD_FIELDS_ROUTED

#: ISO weekdays, as ``Rep.work_days`` stores them.
WEEKDAYS = [
    (1, "Monday"),
    (2, "Tuesday"),
    (3, "Wednesday"),
    (4, "Thursday"),
    (5, "Friday"),
    (6, "Saturday"),
    (7, "Sunday"),
]


class RepHoursMixin(forms.Form):
    """A rep's time zone from a list (a typo cannot stop routing) and working days as tick boxes."""

    timezone = forms.ChoiceField(
        choices=[(name, name) for name in sorted(available_timezones())], initial="UTC", label="Time zone"
    )
    work_days = forms.TypedMultipleChoiceField(
        choices=WEEKDAYS,
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
        label="Working days",
        help_text="SLA clocks run on these days only",
    )


class RepForm(RepHoursMixin, forms.ModelForm):
    """Everything an admin sets on a rep: capacity, appetite, availability, backup, working hours."""

    class Meta:
        model = Rep
        fields = [
            "max_open_leads", "max_new_per_day", "min_score", "is_available", "out_of_office_from",
            "out_of_office_until", "backup", "timezone", "work_start", "work_end", "work_days",
        ]  # fmt: skip
        labels = {
            "max_open_leads": "Most open (unworked) leads",
            "max_new_per_day": "Most new leads a day",
            "min_score": "Lowest score taken now",
            "is_available": "Available for new leads",
            "out_of_office_from": "Out of office from",
            "out_of_office_until": "Back on",
            "work_start": "Working day starts",
            "work_end": "Working day ends",
        }
        widgets = {
            "out_of_office_from": forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
            "out_of_office_until": forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
            "work_start": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
            "work_end": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        backups = Rep.objects.select_related("user").order_by("user__username")
        if self.instance.pk:
            backups = backups.exclude(pk=self.instance.pk)
        self.fields["backup"].queryset = backups

    def changes(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in self.Meta.fields}


class CommaSeparatedListField(forms.CharField):
    """A list (stored as JSON) typed as ``US, CA, GB`` rather than as JSON."""

    def __init__(self, *, upper: bool = False, **kwargs: Any) -> None:
        self.upper = upper
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, list | tuple):
            return ", ".join(str(item) for item in value)
        return value

    def to_python(self, value: Any) -> list[str]:
        if isinstance(value, list | tuple):
            return [str(item) for item in value]
        items = [part.strip() for part in (super().to_python(value) or "").split(",")]
        items = [item.upper() if self.upper else item for item in items if item]
        return list(dict.fromkeys(items))


class PostalRangesField(forms.CharField):
    """Postal-code ranges typed as ``10000-14999, 94100-94199``, stored as ``[["10000", "14999"], ...]``."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, list | tuple):
            return ", ".join(f"{pair[0]}-{pair[1]}" for pair in value if len(pair) == 2)
        return value

    def to_python(self, value: Any) -> list[list[str]]:
        if isinstance(value, list | tuple):
            return [list(pair) for pair in value]
        ranges: list[list[str]] = []
        problems: list[str] = []
        for part in (super().to_python(value) or "").split(","):
            text = "".join(part.split()).upper()
            if not text:
                continue
            low, dash, high = text.partition("-")
            if not dash or not low or not high:
                problems.append(f"“{part.strip()}” is not a range like 10000-14999")
            elif len(low) != len(high):
                problems.append(f"“{part.strip()}”: both ends need the same number of characters")
            elif low > high:
                problems.append(f"“{part.strip()}”: the range must start below where it ends")
            else:
                ranges.append([low, high])
        if problems:
            raise forms.ValidationError("; ".join(problems) + ".")
        return ranges


def validate_country_codes(codes: list[str]) -> None:
    bad = [code for code in codes if len(code) != 2 or not code.isalpha()]
    if bad:
        raise forms.ValidationError(f"Use two-letter ISO country codes; not {', '.join(bad)}.")


class TerritoryCriteriaMixin(forms.Form):
    """The criteria typed as comma-separated lists (the admin's form and the page's form share them)."""

    countries = CommaSeparatedListField(
        upper=True, validators=[validate_country_codes], help_text="ISO codes, e.g. US, CA. Empty: any country."
    )
    regions = CommaSeparatedListField(help_text="States or regions, e.g. NY, MA. Empty: any.")
    postal_prefixes = CommaSeparatedListField(label="Postal code prefixes", help_text="e.g. 94, 95. Empty: any.")
    postal_ranges = PostalRangesField(
        label="Postal code ranges", help_text="Inclusive, e.g. 10000-14999, 94100-94199. A prefix or a range is enough."
    )
    industries = CommaSeparatedListField(help_text="e.g. software, fintech. Empty: any.")
    named_accounts = CommaSeparatedListField(
        help_text="Company domains or names, e.g. acme.com, Globex. Set: only their leads match."
    )


class TerritoryForm(TerritoryCriteriaMixin, forms.ModelForm):
    """A territory on its page: who it covers, its priority, its manager."""

    class Meta:
        model = Territory
        fields = [
            "name", "slug", "priority", "manager", "is_active", "countries", "regions", "postal_prefixes",
            "postal_ranges", "industries", "min_employees", "max_employees", "named_accounts",
        ]  # fmt: skip
        labels = {"is_active": "Routes leads", "min_employees": "Smallest company", "max_employees": "Largest company"}
        help_texts = {
            "slug": "Its name in the API and in addresses; made from the name when left empty.",
            "manager": "Hears of every SLA lapse in this territory.",
            "priority": "Lower wins where territories overlap.",
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["slug"].required = False
        users = get_user_model().objects.filter(is_active=True).order_by("username")
        self.fields["manager"].queryset = users
        self.fields["manager"].label_from_instance = lambda user: user.get_full_name() or user.get_username()

    def clean_slug(self) -> str:
        return self.cleaned_data.get("slug") or slugify(self.data.get(self.add_prefix("name"), ""))[:60]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        low, high = data.get("min_employees"), data.get("max_employees")
        if low is not None and high is not None and high < low:
            self.add_error("max_employees", "The largest size cannot be below the smallest.")
        return data

    def criteria(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in self.Meta.fields}


class SeatForm(forms.Form):
    """One rep's seat in the territory and their share of its leads."""

    rep = forms.ModelChoiceField(queryset=Rep.objects.select_related("user"), required=False, label="Rep")
    weight = forms.IntegerField(min_value=1, max_value=100, initial=1, required=False, label="Weight")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["rep"].label_from_instance = lambda rep: f"{rep} ({rep.user.get_username()})"
        for name, field in self.fields.items():
            field.widget.attrs.setdefault("aria-label", "Remove" if name == "DELETE" else str(field.label))


class BaseSeatFormSet(forms.BaseFormSet):
    def clean(self) -> None:
        if any(self.errors):
            return
        seen: set[int] = set()
        for form in self.forms:
            if self.can_delete and self._should_delete_form(form):
                continue
            rep = form.cleaned_data.get("rep")
            if rep is None:
                continue
            if rep.pk in seen:
                form.add_error("rep", f"{rep} is listed twice; give them one seat with a bigger weight.")
            seen.add(rep.pk)

    def seats(self) -> dict[int, int]:
        """Rep id -> weight, the rows not removed and not left blank."""
        return {
            form.cleaned_data["rep"].pk: form.cleaned_data.get("weight") or 1
            for form in self.forms
            if form.cleaned_data.get("rep") is not None and not (self.can_delete and self._should_delete_form(form))
        }


SeatFormSet = forms.formset_factory(SeatForm, formset=BaseSeatFormSet, extra=0, can_delete=True)


class RouteTestForm(forms.Form):
    """The lead to try: an existing one by number, or the fields that decide routing."""

    lead = forms.IntegerField(required=False, min_value=1, label="Existing lead number")
    country = forms.CharField(required=False, max_length=2, help_text="Two-letter code, e.g. DE")
    state = forms.CharField(required=False, max_length=100, label="State or region")
    postal_code = forms.CharField(required=False, max_length=20)
    industry = forms.CharField(required=False, max_length=100)
    employees = forms.IntegerField(required=False, min_value=0, label="Company size")
    company = forms.CharField(required=False, max_length=200)
    company_domain = forms.CharField(required=False, max_length=253, help_text="e.g. acme.com")
    score = forms.IntegerField(required=False, initial=70, min_value=-1000, max_value=1000)

    LEAD_FIELDS = LEAD_FIELDS_ROUTED

    def clean_country(self) -> str:
        code = self.cleaned_data.get("country", "").strip().upper()
        if code and (len(code) != 2 or not code.isalpha()):
            raise forms.ValidationError("Use a two-letter ISO country code, e.g. DE.")
        return code

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("lead") is None and not any(data.get(name) not in (None, "") for name in self.LEAD_FIELDS):
            raise forms.ValidationError("Give an existing lead's number, or some of its fields.")
        return data
