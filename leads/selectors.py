"""Reads: which leads a user may see, and the lists the pages and API show.

Lead visibility is decided here and nowhere else: marketing and admins see every lead;
a rep sees the leads they own and the unowned MQLs they may claim.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Q, QuerySet

from leads.models import Activity, Lead, LeadDefinition, Stage


def lead_claimable_q() -> Q:
    """Unowned, qualified and active: a rep may pick it up."""
    return Q(owner__isnull=True, stage=Stage.MQL, status=Lead.Status.ACTIVE)


def lead_list_visible(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[Lead]:
    """Every lead ``user`` may read."""
    leads = Lead.objects.all()
    if not user.is_authenticated or not user.has_perm("leads.view_lead"):
        return leads.none()
    if user.has_perm("leads.view_all_leads"):
        return leads
    return leads.filter(Q(owner=user) | lead_claimable_q())


def lead_list_for_inbox(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[Lead]:
    """The marketers' inbox: visible leads with what the list shows, newest first."""
    return (
        lead_list_visible(user=user)
        .filter(status=Lead.Status.ACTIVE)
        .select_related("source", "campaign", "owner")
        .order_by("-created_at", "-id")
    )


def lead_queue_for_rep(*, user: AbstractBaseUser) -> QuerySet[Lead]:
    """A rep's own open leads: the most urgent (SLA due) first, then the hottest."""
    return (
        Lead.objects.filter(owner=user, status=Lead.Status.ACTIVE, stage__in=[Stage.MQL, Stage.SAL, Stage.SQL])
        .select_related("source", "campaign")
        .order_by("sla_due_at", "-score", "id")
    )


def lead_list_claimable(*, limit: int = 20) -> QuerySet[Lead]:
    """Unowned MQLs any rep may claim, hottest first."""
    return Lead.objects.filter(lead_claimable_q()).select_related("source").order_by("-score", "created_at")[:limit]


def lead_timeline(*, lead: Lead) -> list[Activity]:
    """The lead's activities, newest first."""
    return list(lead.activities.select_related("actor").order_by("-occurred_at", "-id"))


def lead_definition_current() -> LeadDefinition | None:
    """The published lead definition, if any."""
    return LeadDefinition.objects.filter(status=LeadDefinition.Status.PUBLISHED).first()
