"""Forms for the lead pages: the inbox's filter panel and the stage-change form."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.models import AbstractBaseUser
from django.utils.datastructures import MultiValueDict

from leads.filters import LeadFilter
from leads.models import STAGE_TRANSITIONS, Lead, Stage


class SingleSelectAsList(forms.Select):
    """A drop-down for a multiple-choice filter: one pick in the page, several still allowed in the URL."""

    def value_from_datadict(self, data: Any, files: MultiValueDict, name: str) -> list[str]:
        getlist = getattr(data, "getlist", None)
        values = getlist(name) if getlist else [data.get(name)]
        return [value for value in values if value]


class OptionalCheckbox(forms.CheckboxInput):
    """Checked means "yes"; unchecked means "do not filter", not "no"."""

    def value_from_datadict(self, data: Any, files: MultiValueDict, name: str) -> bool | None:
        return True if super().value_from_datadict(data, files, name) else None


class InboxFilterForm(forms.Form):
    """``LeadFilter``'s form with widgets that fit a side panel."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        fields = self.fields
        fields["stage"].widget = forms.CheckboxSelectMultiple(choices=fields["stage"].choices)
        for name, blank in (("source", "Any source"), ("campaign", "Any campaign")):
            fields[name].widget = SingleSelectAsList(choices=[("", blank), *fields[name].choices])
        fields["owner"].empty_label = "Anyone"
        fields["owner"].label_from_instance = _user_label
        fields["unowned"].widget = OptionalCheckbox()
        fields["unowned"].label = "Unowned only"
        for name in ("score_min", "score_max"):
            fields[name].widget.attrs.update(step="1", inputmode="numeric", placeholder="0" if "min" in name else "100")
        fields["score_min"].label = "Score from"
        fields["score_max"].label = "to"
        for name, label in (("created_after", "Created from"), ("created_before", "Created before")):
            fields[name].widget = forms.DateInput(attrs={"type": "date"})
            fields[name].label = label
        fields["q"].widget = forms.TextInput(
            attrs={"type": "search", "placeholder": "Name, e-mail, company", "autocomplete": "off"}
        )
        fields["junk_reason"].widget.attrs["placeholder"] = "e.g. competitor"
        fields["junk_reason"].label = "Junk reason"


class InboxFilter(LeadFilter):
    """The shared lead filters (the API uses the same ones), rendered for the inbox page."""

    class Meta(LeadFilter.Meta):
        form = InboxFilterForm


def _user_label(user: AbstractBaseUser) -> str:
    return user.get_full_name() or user.get_username()


class StageChangeForm(forms.Form):
    """Move a lead to another stage. The drop-down offers the moves the lifecycle allows from here;
    the service has the last word (and its message is shown on the field it names)."""

    stage = forms.ChoiceField(label="Move to", choices=Stage.choices)
    reason = forms.CharField(
        label="Reason",
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "Needed for junk, nurture and lost"}),
    )

    def __init__(self, *args: Any, lead: Lead, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        allowed = STAGE_TRANSITIONS[Stage(lead.stage)]
        self.fields["stage"].widget.choices = [(value, label) for value, label in Stage.choices if value in allowed]

    @property
    def has_moves(self) -> bool:
        return bool(self.fields["stage"].widget.choices)
