"""How a report cell reads on the page: money with separators, rates as percentages, a dash for none."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import template
from django.contrib.humanize.templatetags.humanize import intcomma

register = template.Library()


@register.filter
def report_cell(value: Any, kind: str) -> str:
    if value is None:
        return "—"
    if kind == "money":
        return intcomma(f"{Decimal(value):.2f}")
    if kind == "rate":
        return f"{float(value) * 100:.1f} %"
    if kind == "hours":
        return f"{float(value):.1f} h"
    if kind == "ratio":
        return f"{float(value):.2f}x"
    if kind == "int":
        return intcomma(value)
    return str(value)
