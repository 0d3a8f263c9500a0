"""The three roles (Django groups) and what each may do.

The permission sets below are the single source of truth; ``roles_ensure`` brings the
database's groups up to date and runs after every ``migrate``.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, Group, Permission

MARKETING = "marketing"
SALES = "sales"
ADMIN = "admin"
ROLES = (MARKETING, SALES, ADMIN)

_VIEW_REFERENCE = [
    "leads.view_reason",
    "leads.view_opportunity",
    "leads.view_account",
    "leads.view_contact",
    "leads.view_source",
    "leads.view_campaign",
    "leads.view_leaddefinition",
    "routing.view_territory",
    "routing.view_rep",
]

ROLE_PERMISSIONS: dict[str, list[str]] = {
    MARKETING: [
        *_VIEW_REFERENCE,
        "leads.view_lead",
        "leads.change_lead",
        "leads.add_lead",
        "leads.view_all_leads",
        "leads.triage_lead",
        "leads.assign_lead",
        "leads.import_leads",
        "leads.view_reports",
        "leads.view_activity",
        "leads.add_activity",
        "leads.add_source",
        "leads.change_source",
        "leads.add_campaign",
        "leads.change_campaign",
        "leads.add_account",
        "leads.change_account",
        "leads.add_contact",
        "leads.change_contact",
    ],
    SALES: [
        *_VIEW_REFERENCE,
        "leads.view_lead",
        "leads.change_lead",
        "leads.work_lead",
        "leads.view_activity",
        "leads.add_activity",
        "leads.add_contact",
        "leads.change_contact",
        "leads.add_opportunity",
        "leads.change_opportunity",
    ],
    ADMIN: [
        *_VIEW_REFERENCE,
        "leads.view_lead",
        "leads.change_lead",
        "leads.add_lead",
        "leads.view_all_leads",
        "leads.triage_lead",
        "leads.assign_lead",
        "leads.import_leads",
        "leads.view_reports",
        "leads.view_activity",
        "leads.add_activity",
        "leads.add_source",
        "leads.change_source",
        "leads.add_campaign",
        "leads.change_campaign",
        "leads.add_account",
        "leads.change_account",
        "leads.add_contact",
        "leads.change_contact",
        "leads.add_leaddefinition",
        "leads.change_leaddefinition",
        "leads.edit_definition",
        "leads.approve_definition",
        "leads.add_reason",
        "leads.change_reason",
        "leads.add_opportunity",
        "leads.change_opportunity",
        "leads.view_auditevent",
        "routing.add_territory",
        "routing.change_territory",
        "routing.delete_territory",
        "routing.add_rep",
        "routing.change_rep",
        "routing.add_territorymembership",
        "routing.change_territorymembership",
        "routing.delete_territorymembership",
        "routing.view_territorymembership",
    ],
}


def roles_ensure() -> dict[str, Group]:
    """Create the role groups if missing and set their permissions to exactly ``ROLE_PERMISSIONS``."""
    groups: dict[str, Group] = {}
    for role, codes in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        wanted = set(codes)
        perms = [
            p
            for p in Permission.objects.filter(codename__in={c.split(".")[1] for c in wanted}).select_related(
                "content_type"
            )
            if f"{p.content_type.app_label}.{p.codename}" in wanted
        ]
        missing = wanted - {f"{p.content_type.app_label}.{p.codename}" for p in perms}
        if missing:
            raise LookupError(f"Role {role!r} names permissions that do not exist: {sorted(missing)}")
        group.permissions.set(perms)
        groups[role] = group
    return groups


def roles_ensure_on_migrate(sender: Any, app_config: Any = None, **kwargs: Any) -> None:
    """post_migrate hook: run once the last of our apps has its permissions."""
    if app_config is not None and app_config.label == "routing":
        roles_ensure()


def user_roles(user: AbstractBaseUser | AnonymousUser) -> set[str]:
    """The role names of ``user`` (superusers count as admin)."""
    if not user.is_authenticated:
        return set()
    cached = getattr(user, "_leadflow_roles", None)
    if cached is None:
        cached = set(user.groups.filter(name__in=ROLES).values_list("name", flat=True))
        if user.is_superuser:
            cached.add(ADMIN)
        user._leadflow_roles = cached  # type: ignore[union-attr]
    return cached
