"""On a lead's page: ``{% lead_duplicates_notice lead %}``, the pairs with it waiting for review, and
``{% lead_merges_undo lead %}``, the merges into it that a reviewer may undo."""

from __future__ import annotations

from typing import Any

from django import template

from dedupe.models import Merge
from dedupe.selectors import candidate_queue
from leads.models import Lead

register = template.Library()


@register.inclusion_tag("dedupe/_lead_notice.html", takes_context=True)
def lead_duplicates_notice(context: dict[str, Any], lead: Lead) -> dict[str, Any]:
    """Nothing for users who may not review duplicates, or when no pair with ``lead`` waits."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.has_perms(["leads.view_all_leads", "leads.triage_lead"]):
        return {"pairs": []}
    if lead.status != Lead.Status.ACTIVE:
        return {"pairs": []}
    pairs = list(candidate_queue(user=user, lead_id=lead.pk)[:20])
    return {"pairs": pairs, "lead": lead}


@register.inclusion_tag("dedupe/_lead_merges.html", takes_context=True)
def lead_merges_undo(context: dict[str, Any], lead: Lead) -> dict[str, Any]:
    """The standing merges into ``lead``, each with an Undo button, for users who review duplicates."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.has_perms(["leads.view_all_leads", "leads.triage_lead"]):
        return {"merges": []}
    merges = list(Merge.objects.filter(survivor=lead, undone_at__isnull=True).select_related("merged")[:50])
    return {"merges": merges, "lead": lead}
