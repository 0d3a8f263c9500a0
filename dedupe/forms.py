"""The review queue's merge form: which lead survives and, per field, whose value it keeps."""

from __future__ import annotations

from typing import Any

from django import forms

from dedupe.services import MERGE_FIELDS

SIDES = [("a", "Left"), ("b", "Right")]


class PairMergeForm(forms.Form):
    """``survivor`` and one ``f_<field>`` per merged field, each ``a`` (left lead) or ``b`` (right lead)."""

    survivor = forms.ChoiceField(choices=SIDES, widget=forms.RadioSelect)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in MERGE_FIELDS:
            self.fields[f"f_{name}"] = forms.ChoiceField(choices=SIDES, required=False, widget=forms.RadioSelect)

    def choices(self, *, survivor_side: str) -> dict[str, str]:
        """The picks as ``lead_merge`` takes them: per field ``"survivor"`` or ``"merged"``."""
        picks = {name: self.cleaned_data.get(f"f_{name}") for name in MERGE_FIELDS}
        return {name: "survivor" if side == survivor_side else "merged" for name, side in picks.items() if side}
