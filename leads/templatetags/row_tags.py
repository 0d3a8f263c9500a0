"""Cheap per-row tags for the long lists (inbox, rep queue): the same output as ``{% url %}`` and the
``date``/``naturaltime`` filters, without their per-call cost.

``{% url 'leads:detail' lead.pk %}`` resolves its arguments and walks the URL resolver's patterns on
every row (three to five links a row on the queue page, 250 a page); ``reverse_pk`` reverses each URL
name once (per script prefix and URLconf) and formats the id into it. ``time_tag`` converts a
timestamp to local time once for the three renderings the lists show.
"""

from __future__ import annotations

import datetime
from functools import cache

from django import template
from django.contrib.humanize.templatetags.humanize import naturaltime
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.dateformat import format as date_format
from django.utils.formats import get_format
from django.utils.html import format_html
from django.utils.safestring import SafeString

register = template.Library()

#: An id no URL pattern contains by accident; reversed in its place, then swapped for "{}".
_PK_SLOT = 918273645546372819


@cache
def _url_pattern(name: str, script_prefix: str, urlconf: str | None) -> str:
    # reverse() percent-encodes braces, so the only "{}" in the result is the one put in here.
    return reverse(name, urlconf=urlconf, args=[_PK_SLOT]).replace(str(_PK_SLOT), "{}")


@receiver(setting_changed)
def _forget_patterns(*, setting: str, **kwargs: object) -> None:
    if setting == "ROOT_URLCONF":
        _url_pattern.cache_clear()


@register.filter
def reverse_pk(name: str, pk: int) -> str:
    """``{{ "leads:detail"|reverse_pk:lead.pk }}`` is ``{% url "leads:detail" lead.pk %}`` for an integer id."""
    return _url_pattern(name, get_script_prefix(), get_urlconf()).format(int(pk))


@register.filter(expects_localtime=True)
def time_tag(value: datetime.datetime, shown: str) -> SafeString | str:
    """``<time datetime="{{ v|date:'c' }}" title="{{ v|naturaltime }}">{{ v|date:shown }}</time>``."""
    if not value:
        return ""
    return format_html(
        '<time datetime="{}" title="{}">{}</time>',
        date_format(value, "c"),
        naturaltime(value),
        date_format(value, get_format(shown)),
    )
