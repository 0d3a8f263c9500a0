"""Forms for the lead pages: the inbox's filter panel, bulk actions and saved views, and the stage-change form."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import QuerySet
from django.utils.datastructures import MultiValueDict

from leadflow.widgets import FastSelect, ListedModelChoiceIterator
from leads.filters import LeadFilter
from leads.models import STAGE_TRANSITIONS, Lead, Reason, SavedView, Stage
from leads.permissions import lead_stage_change_allowed
from leads.services import lead_stage_move_refusal


class SingleSelectAsList(FastSelect):
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
            fields[name].iterator = ListedModelChoiceIterator
            fields[name].widget = SingleSelectAsList(choices=[("", blank), *fields[name].choices])
        fields["owner"].iterator = ListedModelChoiceIterator
        fields["owner"].empty_label = "Anyone"
        fields["owner"].label_from_instance = _user_label
        fields["owner"].widget = FastSelect(choices=fields["owner"].choices)
        fields["unowned"].widget = OptionalCheckbox()
        fields["unowned"].label = "Unowned only"
        fields["revisit_due"].widget = OptionalCheckbox()
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


class ReasonChoiceField(forms.ModelChoiceField):
    """The admin-kept reasons (active ones), grouped by list in the drop-down."""

    widget = FastSelect
    iterator = ListedModelChoiceIterator

    def __init__(self, *, kinds: list[str] | None = None, **kwargs: Any) -> None:
        reasons = Reason.objects.filter(is_active=True)
        if kinds is not None:
            reasons = reasons.filter(kind__in=kinds)
        kwargs.setdefault("empty_label", "Pick a reason…")
        super().__init__(queryset=reasons, **kwargs)

    def grouped_choices(self) -> list[tuple[str, list[tuple[int, str]]]]:
        groups: dict[str, list[tuple[int, str]]] = {}
        for reason in self.queryset:
            groups.setdefault(reason.get_kind_display(), []).append((reason.pk, reason.label))
        return list(groups.items())


class StageChangeForm(forms.Form):
    """Move a lead to another stage. The drop-down offers the moves the lifecycle allows from here and
    ``user`` may make (``lead_stage_change_allowed``); the service has the last word (and its message
    is shown on the field it names). Opportunity, won and lost-from-opportunity are made by converting
    and closing, so they are not offered here."""

    stage = forms.ChoiceField(label="Move to", choices=Stage.choices)
    reason_code = ReasonChoiceField(
        label="Reason from the list",
        required=False,
        help_text="Lost and junk need one; a recycled reason (with a revisit date) hands the lead back to marketing.",
    )
    revisit_on = forms.DateField(
        label="Revisit on", required=False, widget=forms.DateInput(attrs={"type": "date"}), help_text="For a recycle"
    )
    reason = forms.CharField(
        label="Details",
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "Needed for nurture; optional with a listed reason"}),
    )

    def __init__(self, *args: Any, lead: Lead, user: AbstractBaseUser, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        allowed = STAGE_TRANSITIONS[Stage(lead.stage)]
        offered = [
            (value, label)
            for value, label in Stage.choices
            if value in allowed
            and lead_stage_move_refusal(lead=lead, to_stage=value) is None
            and lead_stage_change_allowed(user=user, lead=lead, to_stage=value)
        ]
        # Only the widget is narrowed: a move posted anyway gets the service's message, which says why.
        self.fields["stage"].widget.choices = offered
        reason_field = self.fields["reason_code"]
        reason_field.widget.choices = [("", reason_field.empty_label), *reason_field.grouped_choices()]

    @property
    def has_moves(self) -> bool:
        return bool(self.fields["stage"].widget.choices)


class LeadIdsField(forms.Field):
    """The ids of the leads ticked in a list (``lead=3&lead=7``), as integers."""

    widget = forms.MultipleHiddenInput
    default_error_messages = {
        "required": "Select at least one lead.",
        "invalid": "The selection was not understood; reload the page and try again.",
        "too_many": "Select at most %(limit)s leads at once.",
    }

    def __init__(self, *, limit: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.limit = limit

    def to_python(self, value: Any) -> list[int]:
        if not value:
            return []
        if not isinstance(value, list | tuple):
            value = [value]
        try:
            ids = sorted({int(item) for item in value})
        except (TypeError, ValueError) as error:
            raise ValidationError(self.error_messages["invalid"], code="invalid") from error
        if any(pk <= 0 for pk in ids):
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        if len(ids) > self.limit:
            raise ValidationError(self.error_messages["too_many"], code="too_many", params={"limit": self.limit})
        return ids


class BulkAction(models.TextChoices):
    QUALIFY = "qualify", "Qualify"
    DISQUALIFY = "disqualify", "Disqualify"
    NURTURE = "nurture", "Send to nurture"
    RESTORE = "restore", "Restore from junk"
    ASSIGN = "assign", "Assign"


#: The stage each stage-moving bulk action sends the leads to.
BULK_ACTION_STAGES = {
    BulkAction.QUALIFY: Stage.MQL,
    BulkAction.DISQUALIFY: Stage.JUNK,
    BulkAction.NURTURE: Stage.NURTURE,
    BulkAction.RESTORE: Stage.NEW,
}


class BulkActionForm(forms.Form):
    """One action on the leads ticked in the inbox. The button pressed names the action; each action
    reads only its own fields, so one form serves the whole action bar."""

    MAX_LEADS = 500

    lead = LeadIdsField(limit=MAX_LEADS)
    action = forms.ChoiceField(choices=BulkAction.choices)
    disqualify_reason = ReasonChoiceField(label="Why", required=False, kinds=[Reason.Kind.DISQUALIFIED])
    disqualify_note = forms.CharField(
        label="Details",
        required=False,
        max_length=150,
        widget=forms.TextInput(attrs={"placeholder": "e.g. works at rivalcrm.com", "autocomplete": "off"}),
    )
    nurture_reason = forms.CharField(
        label="Why",
        required=False,
        max_length=1000,
        widget=forms.TextInput(attrs={"placeholder": "e.g. not ready this quarter", "autocomplete": "off"}),
    )
    owner = forms.ModelChoiceField(
        label="Assign to", required=False, queryset=None, empty_label="Pick a rep…", widget=FastSelect
    )
    query = forms.CharField(required=False, max_length=2000, widget=forms.HiddenInput)

    def __init__(self, *args: Any, owners: QuerySet, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "bulk_%s")
        super().__init__(*args, **kwargs)
        self.fields["owner"].iterator = ListedModelChoiceIterator
        self.fields["owner"].queryset = owners
        self.fields["owner"].label_from_instance = _user_label

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        action = data.get("action")
        data["to_stage"] = BULK_ACTION_STAGES.get(action)
        data["reason"] = ""
        data["reason_code"] = None
        if action == BulkAction.DISQUALIFY:
            data["reason_code"] = data.get("disqualify_reason")
            data["reason"] = data.get("disqualify_note", "").strip()
            if data["reason_code"] is None and "disqualify_reason" not in self.errors:
                self.add_error("disqualify_reason", "Pick why these leads are junk.")
        elif action == BulkAction.NURTURE:
            data["reason"] = data.get("nurture_reason", "").strip()
            if not data["reason"]:
                self.add_error("nurture_reason", "Say why these leads go to nurture.")
        elif action == BulkAction.ASSIGN and not data.get("owner") and "owner" not in self.errors:
            self.add_error("owner", "Pick the rep to assign these leads to.")
        return data

    @property
    def selected_ids(self) -> set[int]:
        """The ticked leads as submitted, so a refused action shows them still ticked."""
        if not self.is_bound:
            return set()
        return {int(value) for value in self.data.getlist("lead") if str(value).isdigit()}


class SavedViewForm(forms.Form):
    """Keep the inbox's current filters under a name (the service checks the name is free)."""

    name = forms.CharField(
        label="Name",
        max_length=SavedView._meta.get_field("name").max_length,
        widget=forms.TextInput(attrs={"placeholder": "e.g. Junk this week", "autocomplete": "off"}),
    )
    is_shared = forms.BooleanField(label="Share with the team", required=False)
    query = forms.CharField(required=False, max_length=2000, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "save_view_%s")
        super().__init__(*args, **kwargs)


class ConvertForm(forms.Form):
    """Convert a qualified lead: the opportunity's name, amount and expected close (the service checks the rest)."""

    name = forms.CharField(
        label="Opportunity name",
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"placeholder": "Default: account and person"}),
    )
    amount = forms.DecimalField(label="Amount", max_digits=14, decimal_places=2, min_value=0)
    expected_close_on = forms.DateField(
        label="Expected close", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )


class CloseOpportunityForm(forms.Form):
    """Mark an open opportunity won (final amount) or lost (a reason from the lost list)."""

    outcome = forms.ChoiceField(label="Outcome", choices=[("won", "Won"), ("lost", "Lost")], widget=forms.RadioSelect)
    amount = forms.DecimalField(
        label="Final amount", required=False, max_digits=14, decimal_places=2, min_value=0, help_text="When won"
    )
    closed_on = forms.DateField(
        label="Closed on", required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    lost_reason = ReasonChoiceField(label="Lost because", required=False, kinds=[Reason.Kind.LOST])
    note = forms.CharField(label="Note", required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "close_%s")
        super().__init__(*args, **kwargs)


class OpportunityEditForm(forms.Form):
    """An open opportunity's name, amount and expected close (``opportunity_update`` checks the rest)."""

    name = forms.CharField(label="Opportunity name", max_length=200)
    amount = forms.DecimalField(label="Amount", max_digits=14, decimal_places=2, min_value=0)
    expected_close_on = forms.DateField(
        label="Expected close", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "edit_%s")
        super().__init__(*args, **kwargs)


class ReasonAddForm(forms.Form):
    kind = forms.ChoiceField(label="List", choices=Reason.Kind.choices)
    label = forms.CharField(label="Reason", max_length=120)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "add_%s")
        super().__init__(*args, **kwargs)


class ReasonEditForm(forms.Form):
    label = forms.CharField(label="Reason", max_length=120)
    position = forms.IntegerField(label="Position", min_value=0, max_value=32767)
    is_active = forms.BooleanField(label="In use", required=False)
