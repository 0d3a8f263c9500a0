"""Business operations on leads. Each is a keyword-only function named ``<entity>_<action>``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from django.contrib.auth.models import AbstractBaseUser
from django.contrib.contenttypes.models import ContentType
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, transaction
from django.utils import timezone

from leads.models import Activity, AuditEvent, Campaign, Lead, Source, Stage, StageChange, Submission
from leads.normalize import normalize_lead
from leads.selectors import lead_claimable_q, lead_definition_current

ModelT = TypeVar("ModelT", bound=models.Model)

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


#: Lead fields a person may correct by hand; stage, owner and score only change through the operations above.
LEAD_EDITABLE_FIELDS = (
    "first_name",
    "last_name",
    "email",
    "phone",
    "title",
    "seniority",
    "job_function",
    "company",
    "company_domain",
    "website",
    "industry",
    "employees",
    "street",
    "city",
    "state",
    "postal_code",
    "country",
)

#: Of those, the ones the scoring rules read: changing one re-scores a scored lead.
LEAD_SCORED_FIELDS = frozenset(LEAD_EDITABLE_FIELDS) - {"first_name", "last_name", "street", "website"}


def audit_value(value: Any) -> Any:
    """``value`` in a JSON-safe form for ``AuditEvent.changes`` (related objects by primary key)."""
    if isinstance(value, models.Model):
        return value.pk
    if value is None or isinstance(value, bool | int | float | str | list | dict):
        return value
    try:
        return DjangoJSONEncoder().default(value)
    except TypeError:
        return str(value)


def audited_create(
    *, instance: ModelT, actor: AbstractBaseUser | None, action: str, ip_address: str | None = None
) -> ModelT:
    """Validate and save a new ``instance``, recording every non-empty field it was given."""
    instance.full_clean()
    instance.save()
    changes = {
        field.name: [None, audit_value(getattr(instance, field.name))]
        for field in instance._meta.concrete_fields
        if field.editable and not field.primary_key and getattr(instance, field.name) not in (None, "", [], {})
    }
    audit_record(actor=actor, action=action, obj=instance, changes=changes, ip_address=ip_address)
    return instance


def audited_update(
    *,
    instance: ModelT,
    data: Mapping[str, Any],
    actor: AbstractBaseUser | None,
    action: str,
    ip_address: str | None = None,
) -> ModelT:
    """Apply ``data`` to ``instance``, validate, save, and record ``{field: [before, after]}`` of what changed."""
    changes: dict[str, list[Any]] = {}
    for name, value in data.items():
        before, after = audit_value(getattr(instance, name)), audit_value(value)
        if before != after:
            changes[name] = [before, after]
        setattr(instance, name, value)
    if not changes:
        return instance
    instance.full_clean()
    instance.save()
    audit_record(actor=actor, action=action, obj=instance, changes=changes, ip_address=ip_address)
    return instance


def audited_delete(
    *, instance: models.Model, actor: AbstractBaseUser | None, action: str, ip_address: str | None = None
) -> None:
    """Delete ``instance``, keeping its last values in the audit trail so it could be rebuilt."""
    changes = {
        field.name: [audit_value(getattr(instance, field.name)), None]
        for field in instance._meta.concrete_fields
        if field.editable and not field.primary_key
    }
    audit_record(actor=actor, action=action, obj=instance, changes=changes, ip_address=ip_address)
    instance.delete()


def lead_submit(
    *,
    source: Source,
    payload: Mapping[str, Any],
    campaign: Campaign | None = None,
    idempotency_key: str = "",
    actor: AbstractBaseUser | None,
    ip_address: str | None = None,
) -> tuple[Submission, bool]:
    """A lead sent by a signed-in user or integration: it goes through intake like a web form's.

    Returns ``(submission, created)``; ``created`` is false when ``idempotency_key`` repeats an
    earlier request, which then changes nothing.
    """
    from leads.intake import submission_receive

    if not source.is_active:
        raise LeadOperationError(f"Source {source.slug!r} is inactive and takes no new leads.", field="source")
    if campaign is not None and campaign.source_id not in (None, source.pk):
        raise LeadOperationError(f"Campaign {campaign.slug!r} belongs to another source.", field="campaign")
    meta = {"via": "api", "remote_addr": ip_address, "user": actor.get_username() if actor else None}
    with transaction.atomic():
        result = submission_receive(source=source, payload=payload, idempotency_key=idempotency_key, meta=meta)
        if not result.created:
            return result.submission, False
        lead = result.submission.lead
        if campaign is not None and lead.campaign_id is None:
            Lead.objects.filter(pk=lead.pk).update(campaign=campaign)
        audit_record(
            actor=actor,
            action="lead.submit",
            obj=lead,
            changes={"submission": [None, str(result.submission.pk)], "source": [None, source.slug]},
            ip_address=ip_address,
        )
    return result.submission, True


def _lead_edit_values(lead: Lead, data: Mapping[str, Any]) -> dict[str, Any]:
    """``data`` cleaned the way intake cleans a submission, with what follows from it (domain, seniority).

    A person typing a value is told when it is invalid, rather than have it kept as entered.
    """
    raw = {name: getattr(lead, name) for name in LEAD_EDITABLE_FIELDS} | dict(data)
    result = normalize_lead(raw)
    problems = {name: problem for name, problem in result.problems.items() if name in data}
    if problems:
        name = sorted(problems)[0]
        raise LeadOperationError(problems[name]["problem"], field=name)
    values = {name: result.values[name] for name in data if name in result.values}
    for name in ("seniority", "job_function", "company_domain"):
        if name in data:
            values[name] = data[name].strip().lower() if name == "company_domain" else data[name]
    if "title" in data:
        for name in ("seniority", "job_function"):
            values.setdefault(name, result.values[name])
    if ("website" in data or "email" in data) and "company_domain" not in data:
        values["company_domain"] = result.values["company_domain"]
    return values


@transaction.atomic
def lead_update(
    *, lead: Lead, data: Mapping[str, Any], actor: AbstractBaseUser | None, ip_address: str | None = None
) -> Lead:
    """Correct a lead's person, company or address details; re-score it if scored facts changed."""
    unknown = set(data) - set(LEAD_EDITABLE_FIELDS)
    if unknown:
        field = sorted(unknown)[0]
        raise LeadOperationError(f"{field!r} cannot be changed by editing the lead.", field=field)
    locked = Lead.objects.select_for_update().get(pk=lead.pk)
    if locked.status == Lead.Status.MERGED:
        raise LeadOperationError(f"This lead was merged into lead {locked.merged_into_id}; change that one.")
    if locked.pipeline_state == Lead.PipelineState.RECEIVED:
        # Normalizing would overwrite the edit with the submission's values.
        raise LeadOperationError("This lead is still being processed; try again in a moment.")
    values = _lead_edit_values(locked, data)
    before = {name: getattr(locked, name) for name in values}
    still_invalid = {name: problem for name, problem in locked.invalid_fields.items() if name not in values}
    if still_invalid != locked.invalid_fields:
        values["invalid_fields"] = still_invalid
    audited_update(instance=locked, data=values, actor=actor, action="lead.update", ip_address=ip_address)
    changed = {name for name in before if getattr(locked, name) != before[name]}
    if changed & LEAD_SCORED_FIELDS and locked.scored_at is not None and lead_definition_current() is not None:
        from scoring.tasks import lead_score_task

        transaction.on_commit(lambda: lead_score_task.delay(locked.pk))
    lead.refresh_from_db()
    return locked


@transaction.atomic
def source_create(
    *, data: Mapping[str, Any], actor: AbstractBaseUser | None, ip_address: str | None = None
) -> tuple[Source, str]:
    """Add a source with its own API key. The key is returned here, once; only its hash is kept."""
    source = Source(**data)
    key = source.set_new_api_key()
    source = audited_create(instance=source, actor=actor, action="source.create", ip_address=ip_address)
    return source, key


def _slug_unchanged(instance: Source | Campaign, data: Mapping[str, Any], what: str) -> None:
    if "slug" in data and data["slug"] != instance.slug:
        raise LeadOperationError(
            f"A {what}'s slug cannot change: integrations, filters and reports refer to it.", field="slug"
        )


@transaction.atomic
def source_update(
    *, source: Source, data: Mapping[str, Any], actor: AbstractBaseUser | None, ip_address: str | None = None
) -> Source:
    """Change a source's name, kind, trust or whether it takes leads (its slug stays)."""
    _slug_unchanged(source, data, "source")
    return audited_update(instance=source, data=data, actor=actor, action="source.update", ip_address=ip_address)


@transaction.atomic
def source_rotate_key(*, source: Source, actor: AbstractBaseUser | None, ip_address: str | None = None) -> str:
    """Give ``source`` a new API key and return it; the old key stops working at once."""
    locked = Source.objects.select_for_update().get(pk=source.pk)
    before = locked.api_key_prefix
    key = locked.set_new_api_key()
    locked.save(update_fields=["api_key_prefix", "api_key_hash", "updated_at"])
    audit_record(
        actor=actor,
        action="source.rotate_key",
        obj=locked,
        changes={"api_key_prefix": [before, locked.api_key_prefix]},
        ip_address=ip_address,
    )
    source.refresh_from_db()
    return key


@transaction.atomic
def campaign_create(
    *, data: Mapping[str, Any], actor: AbstractBaseUser | None, ip_address: str | None = None
) -> Campaign:
    """Add a campaign (its cost feeds cost-per-lead and return-on-spend reports)."""
    return audited_create(instance=Campaign(**data), actor=actor, action="campaign.create", ip_address=ip_address)


@transaction.atomic
def campaign_update(
    *, campaign: Campaign, data: Mapping[str, Any], actor: AbstractBaseUser | None, ip_address: str | None = None
) -> Campaign:
    """Change a campaign's name, source, cost or dates (its slug stays)."""
    _slug_unchanged(campaign, data, "campaign")
    return audited_update(instance=campaign, data=data, actor=actor, action="campaign.update", ip_address=ip_address)
