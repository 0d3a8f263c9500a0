"""Who may call which API endpoint.

Django model permissions decide what kind of object a user may read or write; which leads
they may see comes only from ``leads.selectors.lead_list_visible`` (the views' queryset).
"""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import SAFE_METHODS, BasePermission, DjangoModelPermissions
from rest_framework.request import Request
from rest_framework.views import APIView

from leads.permissions import contact_change_allowed, lead_change_allowed, lead_stage_change_allowed

_VIEW = ["%(app_label)s.view_%(model_name)s"]


class ModelPermissions(DjangoModelPermissions):
    """Django model permissions, with ``view_*`` required to read as well.

    A view may name the permissions an action needs in ``action_permissions``
    (``{"claim": ["leads.work_lead"]}``); those replace the per-method ones for that action.
    """

    perms_map = {**DjangoModelPermissions.perms_map, "GET": _VIEW, "HEAD": _VIEW, "OPTIONS": _VIEW}

    def has_permission(self, request: Request, view: APIView) -> bool:
        if hasattr(view, "action_map") and getattr(view, "action", None) is None:
            # A viewset that does not offer this method answers 405, whoever asks.
            return bool(request.user and request.user.is_authenticated)
        required = getattr(view, "action_permissions", {}).get(getattr(view, "action", None))
        if required is None:
            return super().has_permission(request, view)
        return bool(request.user and request.user.is_authenticated and request.user.has_perms(required))


class LeadChangePermission(BasePermission):
    """Changing a lead follows ``leads.permissions``, the rules the pages use: its details
    (``lead_change_allowed``: marketing and admins any lead, a rep their own), its stage
    (``lead_stage_change_allowed``: admins any, a rep their own, marketing unowned ones; the view
    checks the target stage too). Claiming is open to any rep who sees the lead; whether it is still
    free is the claim service's answer.
    """

    message = (
        "You may not change this lead: a rep works the leads they own (claim it first), "
        "marketing moves unowned leads, admins any."
    )
    #: Actions that move the lead between stages.
    stage_actions = frozenset({"stage"})

    def has_object_permission(self, request: Request, view: APIView, obj: Any) -> bool:
        # Claiming is open to any rep who sees the lead; reassigning to whoever holds leads.assign_lead.
        if request.method in SAFE_METHODS or getattr(view, "action", None) in ("claim", "reassign"):
            return True
        if getattr(view, "action", None) in self.stage_actions:
            return lead_stage_change_allowed(user=request.user, lead=obj)
        return lead_change_allowed(user=request.user, lead=obj)


class ContactChangePermission(BasePermission):
    """Changing a contact follows ``leads.permissions.contact_change_allowed``: marketing and admins any,
    a rep the contacts of their own accounts, leads and opportunities. Everyone who may read contacts
    reads them all (adding one is checked against its account by the view)."""

    message = "You may not change this contact: a rep changes the contacts of their own accounts, leads and deals."

    def has_object_permission(self, request: Request, view: APIView, obj: Any) -> bool:
        return request.method in SAFE_METHODS or contact_change_allowed(user=request.user, contact=obj)
