"""Who may open which page and act on which lead: the one place the pages ask.

Which leads a user may *see* is decided by ``leads.selectors.lead_list_visible``; this module
turns that into 404s for pages, and adds what a user may *do* to a lead they can see.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.auth.decorators import login_required, permission_required
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404

from leads.models import Lead
from leads.selectors import lead_list_visible


def page_permission_required(*perms: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Anonymous users go to the login page; signed-in users without ``perms`` get a 403."""

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        return login_required(permission_required(perms, raise_exception=True)(view))

    return decorator


def get_visible_lead_or_404(*, user: AbstractBaseUser | AnonymousUser, pk: int) -> Lead:
    """The lead ``pk`` if ``user`` may see it; a 404 otherwise, so hidden leads do not even exist."""
    leads = lead_list_visible(user=user).select_related(
        "source", "campaign", "account", "contact", "owner", "definition", "merged_into"
    )
    return get_object_or_404(leads, pk=pk)


def lead_stage_change_allowed(*, user: AbstractBaseUser | AnonymousUser, lead: Lead) -> bool:
    """Marketing and admins triage any lead; a rep moves only the leads they own."""
    if not user.is_authenticated or not user.has_perm("leads.change_lead"):
        return False
    if user.has_perm("leads.triage_lead"):
        return True
    return user.has_perm("leads.work_lead") and lead.owner_id == user.pk


def lead_stage_change_check(*, user: AbstractBaseUser | AnonymousUser, lead: Lead) -> None:
    """Raise ``PermissionDenied`` (a 403) unless ``user`` may move ``lead`` between stages."""
    if not lead_stage_change_allowed(user=user, lead=lead):
        raise PermissionDenied("You may not change this lead's stage.")


def lead_claim_allowed(*, user: AbstractBaseUser | AnonymousUser, lead: Lead) -> bool:
    """Reps may try to claim what they can see; whether it is still free is the service's call."""
    return user.is_authenticated and user.has_perm("leads.work_lead") and lead.owner_id is None
