"""Form widgets for long drop-downs on the busiest pages.

Django renders every ``<option>`` through two template includes; a drop-down of fifty reps costs
several milliseconds a page, and the inbox shows four such lists. ``FastSelect`` writes the very
same HTML as ``django/forms/widgets/select.html`` in Python (a test compares the two).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.forms.models import ModelChoiceIterator
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe


def _attrs_html(attrs: dict[str, Any]) -> str:
    """As ``django/forms/widgets/attrs.html``: ``False`` leaves the attribute out, ``True`` writes its name only."""
    return "".join(
        f" {conditional_escape(name)}"
        if value is True
        else f' {conditional_escape(name)}="{conditional_escape(str(value))}"'
        for name, value in attrs.items()
        if value is not False
    )


class FastSelect(forms.Select):
    """A ``Select`` whose options are written without a template per option; same markup."""

    def render(self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None) -> SafeString:
        if self.template_name != forms.Select.template_name or self.option_template_name != (
            forms.Select.option_template_name
        ):
            return super().render(name, value, attrs, renderer)
        widget = self.get_context(name, value, attrs)["widget"]
        parts = [format_html('<select name="{}"', widget["name"]), _attrs_html(widget["attrs"]), ">"]
        for group_name, group_choices, _index in widget["optgroups"]:
            if group_name:
                parts.append(format_html('\n  <optgroup label="{}">', group_name))
            for option in group_choices:
                parts.append(
                    format_html('\n  <option value="{}"', str(option["value"]))
                    + _attrs_html(option["attrs"])
                    + format_html(">{}</option>\n", option["label"])  # the include keeps its newline
                )
            if group_name:
                parts.append("\n  </optgroup>")
        parts.append("\n</select>")
        return mark_safe("".join(parts))  # every piece above is escaped


class ListedModelChoiceIterator(ModelChoiceIterator):
    """A model field's choices read with one plain query, kept for this iterator's life.

    Django's iterator counts the rows first (``len()``, one ``COUNT(*)``), then reads them through
    ``QuerySet.iterator()``, which on PostgreSQL is a server-side cursor (``DECLARE``, ``FETCH``,
    ``CLOSE``): four round trips for a list of ten sources, on every inbox page. Set it as a field's
    ``iterator`` before its queryset (the widget's choices are made when the queryset is set).
    """

    def __init__(self, field: forms.ModelChoiceField) -> None:
        super().__init__(field)
        self._objects: list[Any] | None = None

    def objects(self) -> list[Any]:
        if self._objects is None:
            self._objects = list(self.queryset)
        return self._objects

    def __iter__(self) -> Any:
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        for obj in self.objects():
            yield self.choice(obj)

    def __len__(self) -> int:
        return len(self.objects()) + (self.field.empty_label is not None)

    def __bool__(self) -> bool:
        return self.field.empty_label is not None or bool(self.objects())
