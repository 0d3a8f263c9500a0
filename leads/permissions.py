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

from leads.models import Account, Contact, Lead, Opportunity, Stage
from leads.roles import ADMIN, user_roles
from leads.selectors import lead_list_visible

#: Stages that record sales' decisions (accepted, qualified, converted, closed): marketing never moves a lead there.
SALES_STAGES = frozenset({Stage.SAL, Stage.SQL, Stage.OPPORTUNITY, Stage.WON, Stage.LOST})


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


def lead_change_allowed(*, user: AbstractBaseUser | AnonymousUser, lead: Lead) -> bool:
    """Correcting a lead's details: marketing and admins on any lead, a rep on the leads they own."""
    if not user.is_authenticated or not user.has_perm("leads.change_lead"):
        return False
    if user.has_perm("leads.triage_lead"):
        return True
    return user.has_perm("leads.work_lead") and lead.owner_id == user.pk


def lead_stage_change_allowed(
    *, user: AbstractBaseUser | AnonymousUser | None, lead: Lead, to_stage: str | None = None
) -> bool:
    """Who may move what, the one rule for pages, API and bulk actions alike.

    Admins move any lead; a rep moves the leads they own (to any stage the lifecycle allows); marketing
    moves unowned leads between its own stages (new, junk, nurture, MQL) but not into sales' stages.
    Without ``to_stage``: whether ``user`` may move ``lead`` at all. Which moves exist is the lifecycle's
    business (``STAGE_TRANSITIONS`` and the services), not this function's.
    """
    if user is None or not user.is_authenticated or not user.has_perm("leads.change_lead"):
        return False
    roles = user_roles(user)
    if ADMIN in roles:
        return True
    if user.has_perm("leads.work_lead") and lead.owner_id is not None and lead.owner_id == user.pk:
        return True
    if user.has_perm("leads.triage_lead") and lead.owner_id is None:
        return to_stage is None or to_stage not in SALES_STAGES
    return False


def lead_stage_change_check(*, user: AbstractBaseUser | AnonymousUser, lead: Lead, to_stage: str | None = None) -> None:
    """Raise ``PermissionDenied`` (a 403) unless ``user`` may move ``lead`` (to ``to_stage``)."""
    if not lead_stage_change_allowed(user=user, lead=lead, to_stage=to_stage):
        if lead.owner_id is not None and lead.owner_id != getattr(user, "pk", None):
            raise PermissionDenied("This lead belongs to a rep: only they, or an admin, may move it.")
        where = f" to {Stage(to_stage).label}" if to_stage in Stage.values else ""
        raise PermissionDenied(f"You may not move this lead{where}.")


def lead_claim_allowed(*, user: AbstractBaseUser | AnonymousUser, lead: Lead) -> bool:
    """Reps may try to claim what they can see; whether it is still free is the service's call."""
    return user.is_authenticated and user.has_perm("leads.work_lead") and lead.owner_id is None


def contact_add_allowed(*, user: AbstractBaseUser | AnonymousUser, account: Account | None) -> bool:
    """Adding a contact: marketing and admins at any account (or none); a rep only at an account they own.

    Contacts are shared reference data everyone reads; a rep's writes stay inside their own book.
    """
    if not user.is_authenticated or not user.has_perm("leads.add_contact"):
        return False
    if user.has_perm("leads.triage_lead"):
        return True
    return user.has_perm("leads.work_lead") and account is not None and account.owner_id == user.pk


def contact_change_allowed(*, user: AbstractBaseUser | AnonymousUser, contact: Contact) -> bool:
    """Changing a contact: marketing and admins any; a rep those of an account they own, or the contact of
    a lead or an opportunity they own (the person they are working)."""
    if not user.is_authenticated or not user.has_perm("leads.change_contact"):
        return False
    if user.has_perm("leads.triage_lead"):
        return True
    if not user.has_perm("leads.work_lead"):
        return False
    if contact.account_id is not None and Account.objects.filter(pk=contact.account_id, owner=user.pk).exists():
        return True
    return (
        Lead.objects.filter(contact=contact, owner=user.pk).exists()
        or Opportunity.objects.filter(contact=contact, owner=user.pk).exists()
    )
