"""Who may read, draft, approve and publish lead definitions: the one place the pages and services ask.

Reading needs ``leads.view_leaddefinition``; drafting, editing and restoring ``leads.edit_definition``;
approving and publishing ``leads.approve_definition``. An approval speaks for one side, so it also
needs the person to be an admin *of that side*: a marketing admin is in the admin and marketing
roles, a sales admin in the admin and sales roles.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from leads.models import DefinitionApproval
from leads.permissions import page_permission_required
from leads.roles import ADMIN, MARKETING, SALES, user_roles

User = AbstractBaseUser | AnonymousUser

READ = "leads.view_leaddefinition"
EDIT = "leads.edit_definition"
APPROVE = "leads.approve_definition"

#: Page decorators: anonymous users go to the login page, signed-in users without the permission get a 403.
definition_page_read = page_permission_required(READ)
definition_page_edit = page_permission_required(READ, EDIT)
definition_page_approve = page_permission_required(READ, APPROVE)

#: The role besides admin that makes someone an admin of each side.
SIDE_ROLES = {DefinitionApproval.Side.MARKETING: MARKETING, DefinitionApproval.Side.SALES: SALES}


def definition_read_allowed(*, user: User) -> bool:
    return user.is_authenticated and user.has_perm(READ)


def definition_edit_allowed(*, user: User) -> bool:
    """May start, edit and restore drafts."""
    return user.is_authenticated and user.has_perm(EDIT)


def definition_publish_allowed(*, user: User) -> bool:
    """May publish a draft that both sides have approved."""
    return user.is_authenticated and user.has_perm(APPROVE)


def definition_preview_allowed(*, user: User) -> bool:
    """May work out what publishing a draft would change (those who shape or approve drafts)."""
    return definition_edit_allowed(user=user) or definition_publish_allowed(user=user)


def definition_approval_sides(*, user: User) -> list[str]:
    """The sides ``user`` may approve for: an admin in the marketing or sales role (or both)."""
    if not definition_publish_allowed(user=user):
        return []
    roles = user_roles(user)
    if ADMIN not in roles:
        return []
    return [side for side, role in SIDE_ROLES.items() if role in roles]
