"""Business operations on territories and reps. Keyword-only functions named ``<entity>_<action>``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.db import transaction

from leads.services import audited_create, audited_delete, audited_update
from routing.models import Rep, Territory

#: What a rep may change on their own profile: how much they want right now, not their capacity.
REP_SELF_SERVICE_FIELDS = frozenset({"min_score", "is_available", "out_of_office_until"})


@transaction.atomic
def territory_create(
    *, data: Mapping[str, Any], actor: AbstractBaseUser | None, ip_address: str | None = None
) -> Territory:
    """Add a territory."""
    return audited_create(instance=Territory(**data), actor=actor, action="territory.create", ip_address=ip_address)


@transaction.atomic
def territory_update(
    *, territory: Territory, data: Mapping[str, Any], actor: AbstractBaseUser | None, ip_address: str | None = None
) -> Territory:
    """Change a territory's criteria, priority, manager or whether it routes."""
    return audited_update(instance=territory, data=data, actor=actor, action="territory.update", ip_address=ip_address)


@transaction.atomic
def territory_delete(*, territory: Territory, actor: AbstractBaseUser | None, ip_address: str | None = None) -> None:
    """Remove a territory and its reps' seats in it (the audit trail keeps its last criteria)."""
    audited_delete(instance=territory, actor=actor, action="territory.delete", ip_address=ip_address)


def rep_fields_editable_by(*, rep: Rep, user: AbstractBaseUser) -> frozenset[str] | None:
    """The rep fields ``user`` may change: ``None`` for all of them, an empty set for none."""
    if user.has_perm("routing.change_rep"):
        return None
    if rep.user_id == user.pk:
        return REP_SELF_SERVICE_FIELDS
    return frozenset()


@transaction.atomic
def rep_update(*, rep: Rep, data: Mapping[str, Any], actor: AbstractBaseUser, ip_address: str | None = None) -> Rep:
    """Change a rep's capacity, appetite, availability or hours, as far as ``actor`` may."""
    allowed = rep_fields_editable_by(rep=rep, user=actor)
    if allowed is not None and not set(data) <= allowed:
        raise PermissionDenied(f"You may change only {', '.join(sorted(allowed)) or 'nothing'} on this rep.")
    locked = Rep.objects.select_for_update().get(pk=rep.pk)
    audited_update(instance=locked, data=data, actor=actor, action="rep.update", ip_address=ip_address)
    rep.refresh_from_db()
    return locked
