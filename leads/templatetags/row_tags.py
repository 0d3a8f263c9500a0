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
from html import escape as _escape

from django import template
from django.contrib.humanize.templatetags.humanize import naturaltime
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.template import Context
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.dateformat import format as date_format
from django.utils.formats import get_format, localize
from django.utils.safestring import SafeString, mark_safe
from django.utils.timezone import template_localtime

from leads.models import Lead

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
    iso = _escape(value.isoformat())  # what the "c" format writes
    ago = _escape(str(naturaltime(value)))
    text = _escape(date_format(value, get_format(shown)))
    return mark_safe(f'<time datetime="{iso}" title="{ago}">{text}</time>')  # each part escaped


_INBOX_ROW = """
        <tr data-lead-id="{pk}">
          {check}
          <td class="cell-main">
            <a class="strong" href="{url}">{name}</a>
            <div class="sub">{email}</div>
          </td>
          <td data-label="Company">
            {company}
            {domain}
          </td>
          <td data-label="Source">
            {source}
            {campaign}
          </td>
          <td data-label="Stage">
            <span class="badge stage stage-{stage}">{stage_label}</span>
            {junk_sub}
          </td>
          {junk_cell}
          <td class="num"><span class="score">{score}</span></td>
          <td data-label="Owner">{owner}</td>
          <td class="nowrap" data-label="Created">{created}</td>
        </tr>
        """
_INBOX_CHECK = """
          <td class="cell-check">
            <input type="checkbox" name="lead" value="{pk}" data-bulk-row{checked}
                   aria-label="Select {label}">
          </td>
          """
_INBOX_JUNK_CELL = """
          <td data-label="Junk reason" class="junk-reason-cell">{}</td>
          """
_SUB = '<div class="sub">{}</div>'
_UNOWNED = mark_safe('<span class="muted">Unowned</span>')


@register.simple_tag(takes_context=True)
def inbox_rows(context: Context, leads: list[Lead]) -> SafeString:
    """The inbox table's rows, written in Python: the markup a ``{% for %}`` over them wrote (about twenty
    variables and filters a row, a third of the page's time), with the context's ``bulk_form`` (a
    checkbox per row), ``selected_ids`` (checked) and ``show_junk_reason`` (its own column)."""
    with_check = bool(context.get("bulk_form"))
    selected = context.get("selected_ids") or ()
    junk_column = bool(context.get("show_junk_reason"))
    url = _url_pattern("leads:detail", get_script_prefix(), get_urlconf())
    rows = []
    for lead in leads:
        # html.escape is Django's escape() for the plain strings a row holds, without its lazy-string checks.
        pk = _escape(localize(lead.pk))
        owner = lead.owner
        check = ""
        if with_check:
            check = _INBOX_CHECK.format(
                pk=pk,
                checked=" checked" if lead.pk in selected else "",
                label=_escape(lead.full_name or lead.email or "this lead"),
            )
        rows.append(
            _INBOX_ROW.format(
                pk=pk,
                check=check,
                url=_escape(url.format(int(lead.pk))),
                name=_escape(lead.full_name or "(no name)"),
                email=_escape(lead.email or "no e-mail"),
                company=_escape(lead.company or "—"),
                domain=_SUB.format(_escape(lead.company_domain)) if lead.company_domain else "",
                source=_escape(lead.source.name) if lead.source else "",
                campaign=_SUB.format(_escape(lead.campaign.name)) if lead.campaign else "",
                stage=_escape(lead.stage),
                stage_label=_escape(str(lead.get_stage_display())),
                junk_sub=_SUB.format(_escape(lead.junk_reason)) if lead.junk_reason and not junk_column else "",
                junk_cell=_INBOX_JUNK_CELL.format(_escape(lead.junk_reason or "—")) if junk_column else "",
                score=_escape(localize(lead.score)),
                owner=_escape(owner.get_full_name() or owner.get_username()) if owner else _UNOWNED,
                created=time_tag(template_localtime(lead.created_at), "M j, H:i"),
            )
        )
    return mark_safe("".join(rows))  # every value above is escaped
