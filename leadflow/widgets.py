"""Form widgets for long drop-downs on the busiest pages.

Django renders every ``<option>`` through two template includes; a drop-down of fifty reps costs
several milliseconds a page, and the inbox shows four such lists. ``FastSelect`` writes the very
same HTML as ``django/forms/widgets/select.html`` in Python (a test compares the two).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.forms.models import ModelChoiceIterator
from django.forms.renderers import DjangoTemplates
from django.http import HttpRequest
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


_WIDGETS = "django/forms/widgets/"
#: Django's templates that are ``input.html`` and nothing else (each one line: ``{% include ".../input.html" %}``).
_INPUT_TEMPLATES = frozenset(
    f"{_WIDGETS}{name}.html"
    for name in "input text number email url password hidden date datetime time search tel color checkbox".split()
)
_OPTION_TEMPLATES = frozenset({f"{_WIDGETS}checkbox_option.html", f"{_WIDGETS}radio_option.html"})


def _input_html(widget: dict[str, Any]) -> str:
    """As ``django/forms/widgets/input.html``."""
    value = widget["value"]
    return "".join(
        (
            f'<input type="{conditional_escape(widget["type"])}" name="{conditional_escape(widget["name"])}"',
            "" if value is None else f' value="{conditional_escape(str(value))}"',
            _attrs_html(widget["attrs"]),
            ">",
        )
    )


def _option_html(widget: dict[str, Any]) -> str:
    """As ``django/forms/widgets/input_option.html`` (a checkbox or radio of a multiple-choice widget)."""
    if not widget.get("wrap_label"):
        return _input_html(widget)
    element_id = widget["attrs"].get("id")
    label_for = f' for="{conditional_escape(element_id)}"' if element_id else ""
    # input.html's closing newline is kept inside the label (the renderer strips only the ends).
    return f"<label{label_for}>{_input_html(widget)}\n {conditional_escape(widget['label'])}</label>"


class FastFormRenderer(DjangoTemplates):
    """Django's default form renderer, except that plain ``<input>`` widgets (text, number, date, checkbox…,
    and each checkbox or radio of a multiple choice) are written in Python: the same markup without two
    template includes and an attribute loop per field (the inbox's filter panel has about twenty).

    A project template overriding one of these Django widget templates would be ignored: there is none
    (``tests/test_widgets.py`` compares the markup with Django's own renderer).
    """

    def render(self, template_name: str, context: dict[str, Any], request: HttpRequest | None = None) -> str:
        if template_name in _INPUT_TEMPLATES:
            return mark_safe(_input_html(context["widget"]))  # every piece is escaped
        if template_name in _OPTION_TEMPLATES:
            return mark_safe(_option_html(context["widget"]))
        return super().render(template_name, context, request=request)
