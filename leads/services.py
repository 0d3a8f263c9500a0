"""Business operations on leads. Each is a keyword-only function named ``<entity>_<action>``."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction
from django.utils import timezone

from leads.models import Activity, AuditEvent, Lead, Stage, StageChange
from leads.selectors import lead_claimable_q

#: Stages a lead may only enter with a reason, because someone will ask why later.
STAGES_NEEDING_REASON = frozenset({Stage.JUNK, Stage.NURTURE, Stage.LOST})


class LeadOperationError(Exception):
    """A lead operation that is not allowed; the message says why, for the user."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def audit_record(
    *,
    actor: AbstractBaseUser | None,
    action: str,
    obj: models.Model,
    changes: dict[str, Any] | None = None,
    ip_address: str | None = None,
) -> AuditEvent:
    """Append an audit event for ``obj``."""
    return AuditEvent.objects.create(
        actor=actor if actor is not None and actor.is_authenticated else None,
        action=action,
        content_type=ContentType.objects.get_for_model(obj, for_concrete_model=True),
        object_id=str(obj.pk),
        object_repr=str(obj)[:200],
        changes=changes or {},
        ip_address=ip_address,
    )


@transaction.atomic
def lead_change_stage(
    *,
    lead: Lead,
    to_stage: str,
    actor: AbstractBaseUser | None,
    reason: str = "",
    ip_address: str | None = None,
) -> StageChange:
    """Move ``lead`` to ``to_stage`` if the lifecycle allows it, recording who and why."""
    locked = Lead.objects.select_for_update().get(pk=lead.pk)
    reason = reason.strip()
    if to_stage not in Stage.values:
        raise LeadOperationError(f"Unknown stage {to_stage!r}.", field="stage")
    if not locked.can_move_to(to_stage):
        raise LeadOperationError(
            f"A lead in stage {Stage(locked.stage).label} cannot move to {Stage(to_stage).label}.", field="stage"
        )
    if to_stage in STAGES_NEEDING_REASON and not reason:
        raise LeadOperationError(f"Moving a lead to {Stage(to_stage).label} needs a reason.", field="reason")
    from_stage = locked.stage
    locked.stage = to_stage
    update = ["stage", "updated_at"]
    if to_stage == Stage.JUNK:
        locked.junk_reason = reason[:200]
        update.append("junk_reason")
    elif from_stage == Stage.JUNK:
        locked.junk_reason = ""
        update.append("junk_reason")
    if to_stage == Stage.SAL and locked.accepted_at is None:
        locked.accepted_at = timezone.now()
        update.append("accepted_at")
    locked.save(update_fields=update)
    change = StageChange.objects.create(
        lead=locked, from_stage=from_stage, to_stage=to_stage, actor=actor, reason=reason
    )
    audit_record(
        actor=actor,
        action="lead.stage_change",
        obj=locked,
        changes={"stage": [from_stage, to_stage], "reason": reason},
        ip_address=ip_address,
    )
    lead.refresh_from_db()
    return change


@transaction.atomic
def lead_claim(*, lead: Lead, user: AbstractBaseUser, ip_address: str | None = None) -> Lead:
    """A rep takes an unowned MQL. The row lock makes two simultaneous claims give it to one rep only."""
    claimed = Lead.objects.select_for_update().filter(lead_claimable_q(), pk=lead.pk).first()
    if claimed is None:
        raise LeadOperationError("This lead is no longer free to claim.")
    now = timezone.now()
    claimed.owner = user
    claimed.assigned_at = now
    claimed.save(update_fields=["owner", "assigned_at", "updated_at"])
    Activity.objects.create(
        lead=claimed,
        kind=Activity.Kind.SYSTEM,
        occurred_at=now,
        subject=f"Claimed by {user.get_username()}",
        actor=user,
    )
    audit_record(
        actor=user, action="lead.claim", obj=claimed, changes={"owner": [None, user.pk]}, ip_address=ip_address
    )
    lead.refresh_from_db()
    return claimed
