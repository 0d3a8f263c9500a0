"""Business operations on leads. Each is a keyword-only function named ``<entity>_<action>``."""

from __future__ import annotations

import dataclasses
import datetime
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.contrib.contenttypes.models import ContentType
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, models, transaction
from django.db.models import Case, F, Value, When
from django.db.models.functions import Coalesce
from django.http import QueryDict
from django.utils import timezone

from leadflow.db import bulk_insert_rows
from leads.models import (
    Activity,
    AuditEvent,
    Campaign,
    Contact,
    Lead,
    Reason,
    SavedView,
    Source,
    Stage,
    StageChange,
    Submission,
)
from leads.normalize import normalize_lead
from leads.permissions import lead_stage_change_allowed
from leads.roles import SALES, user_roles
from leads.selectors import lead_definition_current
from routing.models import Rep

ModelT = TypeVar("ModelT", bound=models.Model)

#: Stages a lead may only enter with a reason, because someone will ask why later.
STAGES_NEEDING_REASON = frozenset({Stage.JUNK, Stage.NURTURE, Stage.LOST})
#: Moves that need a reason from the admin-kept lists (``Reason``), and which list.
STAGE_REASON_KINDS: dict[str, str] = {Stage.LOST: Reason.Kind.LOST, Stage.JUNK: Reason.Kind.DISQUALIFIED}
#: Stages only conversion and closing the opportunity move a lead into, or out of (``leads.lifecycle``).
OPPORTUNITY_STAGES = frozenset({Stage.OPPORTUNITY, Stage.WON})
#: Marketing's stages: a lead moved here from sales is handed back (owner, SLA and acceptance cleared).
MARKETING_STAGES = frozenset({Stage.NEW, Stage.JUNK, Stage.NURTURE})


class LeadOperationError(Exception):
    """A lead operation that is not allowed; the message says why, for the user."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def _audit_event(
    *,
    actor: AbstractBaseUser | None,
    action: str,
    obj: models.Model,
    changes: dict[str, Any] | None = None,
    ip_address: str | None = None,
) -> AuditEvent:
    return AuditEvent(
        actor=actor if actor is not None and actor.is_authenticated else None,
        action=action,
        content_type=ContentType.objects.get_for_model(obj, for_concrete_model=True),
        object_id=str(obj.pk),
        object_repr=str(obj)[:200],
        changes=changes or {},
        ip_address=ip_address,
    )


def audit_record(
    *,
    actor: AbstractBaseUser | None,
    action: str,
    obj: models.Model,
    changes: dict[str, Any] | None = None,
    ip_address: str | None = None,
) -> AuditEvent:
    """Append an audit event for ``obj``."""
    event = _audit_event(actor=actor, action=action, obj=obj, changes=changes, ip_address=ip_address)
    event.save()
    return event


def audit_record_many(
    *,
    actor: AbstractBaseUser | None,
    action: str,
    changes: Iterable[tuple[models.Model, dict[str, Any]]],
    ip_address: str | None = None,
) -> list[AuditEvent]:
    """Append one audit event per ``(obj, changes)`` pair, in one ``COPY`` (a merge step writes thousands)."""
    events = [
        _audit_event(actor=actor, action=action, obj=obj, changes=obj_changes, ip_address=ip_address)
        for obj, obj_changes in changes
    ]
    bulk_insert_rows(events)
    return events


# --- Stages -----------------------------------------------------------------------------------
# One set of rules for moving one lead (``lead_change_stage``) and many (``leads_bulk_change_stage``):
# which stages need a reason, what a move writes, and the history and audit rows it leaves.


@dataclass(frozen=True, slots=True)
class StageWhy:
    """Why a move happens: free text, a reason from the lists, and for a recycle the date to look again."""

    text: str = ""
    code: Reason | None = None
    revisit_on: datetime.date | None = None

    @property
    def summary(self) -> str:
        """The reason in one line, e.g. "Competitor: works at rivalcrm.com" (a junk lead's ``junk_reason``)."""
        if self.code is None:
            return self.text
        return f"{self.code.label}: {self.text}" if self.text else self.code.label

    @property
    def is_recycle(self) -> bool:
        return self.revisit_on is not None


def stage_why_clean(
    *,
    to_stage: str,
    reason: str = "",
    reason_code: Reason | None = None,
    revisit_on: datetime.date | None = None,
    reason_code_required: bool = True,
) -> StageWhy:
    """Check the why of a move to ``to_stage``; refused (naming the field) when it is missing or does not fit.

    Lost and disqualified (junk) moves need a reason from the admins' lists; nurture needs a reason,
    and is a *recycle* when it comes with a recycled reason and a date to revisit (both, then).
    ``reason_code_required=False`` is for moves whose reason is recorded elsewhere (a sales
    rejection keeps its own ``Rejection``).
    """
    text = reason.strip()
    if reason_code is not None:
        if reason_code.kind == Reason.Kind.RECYCLED:
            expected = Stage.NURTURE
        else:
            expected = next((stage for stage, kind in STAGE_REASON_KINDS.items() if kind == reason_code.kind), None)
        if expected != to_stage:
            raise LeadOperationError(
                f"“{reason_code.label}” is a {reason_code.get_kind_display().lower()} reason; "
                f"it does not go with a move to {Stage(to_stage).label}.",
                field="reason_code",
            )
        if not reason_code.is_active:
            raise LeadOperationError(f"“{reason_code.label}” is no longer in use; pick another.", field="reason_code")
    needed_kind = STAGE_REASON_KINDS.get(to_stage)
    if needed_kind is not None and reason_code is None and reason_code_required:
        raise LeadOperationError(
            f"Moving a lead to {Stage(to_stage).label} needs a reason from the "
            f"{Reason.Kind(needed_kind).label.lower()} reasons list.",
            field="reason_code",
        )
    recycling = reason_code is not None and reason_code.kind == Reason.Kind.RECYCLED
    if recycling and revisit_on is None:
        raise LeadOperationError("A recycled lead needs a date to revisit it.", field="revisit_on")
    if revisit_on is not None:
        if not recycling:
            raise LeadOperationError(
                "A revisit date goes with recycling: moving to Nurture with a recycled reason.", field="revisit_on"
            )
        if revisit_on <= timezone.localdate():
            raise LeadOperationError("The revisit date must be in the future.", field="revisit_on")
    if to_stage in STAGES_NEEDING_REASON and not text and reason_code is None:
        raise LeadOperationError(f"Moving a lead to {Stage(to_stage).label} needs a reason.", field="reason")
    return StageWhy(text=text, code=reason_code, revisit_on=revisit_on)


def _stage_update_values(*, to_stage: str, why: StageWhy, now: datetime.datetime) -> dict[str, Any]:
    """What a move to ``to_stage`` writes, as one set of values for leads coming from any stage.

    Entering junk records the reason (the database insists a junk lead has one); leaving junk
    clears it; the first acceptance (SAL) is timed. Every move stamps ``stage_changed_at`` and
    clears a recycle's revisit date unless it is a recycle. Moving to marketing's stages hands the
    lead back to marketing: no owner, no SLA, not accepted (routed again later, it is a fresh MQL).
    """
    values: dict[str, Any] = {
        "stage": to_stage,
        "updated_at": now,
        "stage_changed_at": now,
        "revisit_on": why.revisit_on,
    }
    if to_stage == Stage.JUNK:
        values["junk_reason"] = why.summary[:200]
    else:
        values["junk_reason"] = Case(When(stage=Stage.JUNK, then=Value("")), default=F("junk_reason"))
    if to_stage == Stage.SAL:
        values["accepted_at"] = Coalesce(F("accepted_at"), Value(now))
    if to_stage in MARKETING_STAGES:
        values.update(owner=None, assigned_at=None, sla_due_at=None, accepted_at=None)
    return values


def leads_record_stage_move(
    *,
    leads: list[Lead],
    to_stage: str,
    why: StageWhy,
    actor: AbstractBaseUser | None,
    ip_address: str | None,
) -> list[StageChange]:
    """Move ``leads`` (locked by the caller, each allowed to move) in one UPDATE, with their history and audit.

    The one writer of person-made stage moves: ``lead_change_stage``, the bulk moves, and conversion and
    closing in ``leads.lifecycle`` (which check their own rules first).
    """
    now = timezone.now()
    Lead.objects.filter(pk__in=[lead.pk for lead in leads]).update(
        **_stage_update_values(to_stage=to_stage, why=why, now=now)
    )
    changes = StageChange.objects.bulk_create(
        [
            StageChange(
                lead=lead, from_stage=lead.stage, to_stage=to_stage, actor=actor, reason=why.text, reason_code=why.code
            )
            for lead in leads
        ]
    )
    audit: dict[str, Any] = {"reason": why.text}
    if why.code is not None:
        audit["reason_code"] = [why.code.pk, why.code.label]
    if why.revisit_on is not None:
        audit["revisit_on"] = why.revisit_on.isoformat()
    audit_record_many(
        actor=actor,
        action="lead.stage_change",
        changes=[(lead, {"stage": [lead.stage, to_stage], **audit}) for lead in leads],
        ip_address=ip_address,
    )
    return changes


def lead_stage_move_refusal(*, lead: Lead, to_stage: str) -> str | None:
    """Why ``lead`` may not be moved to ``to_stage`` by a plain stage move, or ``None`` when it may."""
    if not lead.can_move_to(to_stage):
        return f"A lead in stage {Stage(lead.stage).label} cannot move to {Stage(to_stage).label}."
    if to_stage in OPPORTUNITY_STAGES:
        return "A lead becomes an opportunity by converting it; won and lost follow from closing its opportunity."
    if lead.stage == Stage.OPPORTUNITY:
        return "This lead follows its opportunity: close the opportunity as won or lost."
    return None


@transaction.atomic
def lead_change_stage(
    *,
    lead: Lead,
    to_stage: str,
    actor: AbstractBaseUser | None,
    reason: str = "",
    reason_code: Reason | None = None,
    revisit_on: datetime.date | None = None,
    reason_code_required: bool = True,
    ip_address: str | None = None,
) -> StageChange:
    """Move ``lead`` to ``to_stage`` if the lifecycle allows it, recording who and why (see ``stage_why_clean``).

    Who may ask is the caller's check (``leads.permissions.lead_stage_change_allowed``).
    """
    locked = Lead.objects.select_for_update().get(pk=lead.pk)
    if to_stage not in Stage.values:
        raise LeadOperationError(f"Unknown stage {to_stage!r}.", field="stage")
    refusal = lead_stage_move_refusal(lead=locked, to_stage=to_stage)
    if refusal:
        raise LeadOperationError(refusal, field="stage")
    why = stage_why_clean(
        to_stage=to_stage,
        reason=reason,
        reason_code=reason_code,
        revisit_on=revisit_on,
        reason_code_required=reason_code_required,
    )
    [change] = leads_record_stage_move(leads=[locked], to_stage=to_stage, why=why, actor=actor, ip_address=ip_address)
    lead.refresh_from_db()
    change.lead = lead
    return change


@dataclass(frozen=True, slots=True)
class BulkResult:
    """What a bulk operation did: the leads it changed and, for each reason, the ones it left alone."""

    done_text: str  # what happened to each changed lead, e.g. "moved to Junk"
    done: tuple[int, ...] = ()
    skipped: dict[str, tuple[int, ...]] = dataclasses.field(default_factory=dict)

    @property
    def skipped_count(self) -> int:
        return sum(len(ids) for ids in self.skipped.values())

    def summary(self) -> str:
        """In words, e.g. "2 leads moved to Junk. 3 skipped: a Won lead cannot move to Junk." """
        count = len(self.done)
        text = f"{count} lead{'' if count == 1 else 's'} {self.done_text}."
        if self.skipped:
            if len(self.skipped) == 1:
                reasons = next(iter(self.skipped))
            else:
                reasons = "; ".join(f"{why} ({len(ids)})" for why, ids in self.skipped.items())
            text += f" {self.skipped_count} skipped: {reasons}."
        return text


def _with_article(label: str) -> str:
    """ "a Won", "an MQL", "an Opportunity": the article as the label is spoken."""
    spoken_vowel = label[:1] in "AEIOU" or (label[:2].isupper() and label[:1] in "FHLMNRSX")
    return f"{'an' if spoken_vowel else 'a'} {label}"


def _bulk_locked(lead_ids: Iterable[int]) -> tuple[list[Lead], list[int]]:
    """The leads named, locked in id order (so two bulk operations never deadlock), and the ids not found."""
    ids = sorted(set(lead_ids))
    locked = list(Lead.objects.select_for_update(of=("self",)).filter(pk__in=ids).order_by("pk")) if ids else []
    found = {lead.pk for lead in locked}
    return locked, [pk for pk in ids if pk not in found]


def _bulk_result(done_text: str, done: list[Lead], skipped: Mapping[str, list[int]]) -> BulkResult:
    return BulkResult(
        done_text=done_text,
        done=tuple(lead.pk for lead in done),
        skipped={why: tuple(ids) for why, ids in skipped.items()},
    )


@transaction.atomic
def leads_bulk_change_stage(
    *,
    lead_ids: Iterable[int],
    to_stage: str,
    actor: AbstractBaseUser,
    reason: str = "",
    reason_code: Reason | None = None,
    ip_address: str | None = None,
) -> BulkResult:
    """Move every lead the lifecycle allows to ``to_stage``; report the others, with why.

    The same rules as ``lead_change_stage``, in bulk SQL: one locking SELECT, one UPDATE, and one
    INSERT each for the stage changes and audit events, however many leads. Merged leads, and leads
    ``actor`` may not move (``lead_stage_change_allowed``: e.g. a rep's lead, for marketing), are left alone.
    """
    if to_stage not in Stage.values:
        raise LeadOperationError(f"Unknown stage {to_stage!r}.", field="stage")
    why = stage_why_clean(to_stage=to_stage, reason=reason, reason_code=reason_code)
    target = Stage(to_stage).label
    locked, missing = _bulk_locked(lead_ids)
    movable: list[Lead] = []
    skipped: dict[str, list[int]] = defaultdict(list)
    for lead in locked:
        if lead.status == Lead.Status.MERGED:
            skipped["merged into another lead"].append(lead.pk)
        elif lead.stage == to_stage:
            skipped[f"already {target}"].append(lead.pk)
        elif not lead.can_move_to(to_stage) or lead.stage == Stage.OPPORTUNITY or to_stage in OPPORTUNITY_STAGES:
            skipped[f"{_with_article(Stage(lead.stage).label)} lead cannot move to {target}"].append(lead.pk)
        elif not lead_stage_change_allowed(user=actor, lead=lead, to_stage=to_stage):
            skipped["owned by a rep (only they or an admin may move it)"].append(lead.pk)
        else:
            movable.append(lead)
    if missing:
        skipped["no longer exists"] = missing
    if movable:
        leads_record_stage_move(leads=movable, to_stage=to_stage, why=why, actor=actor, ip_address=ip_address)
    return _bulk_result(f"moved to {target}", movable, skipped)


def _user_label(user: AbstractBaseUser) -> str:
    return user.get_full_name() or user.get_username()


@transaction.atomic
def leads_bulk_assign(
    *,
    lead_ids: Iterable[int],
    owner: AbstractBaseUser,
    actor: AbstractBaseUser | None,
    ip_address: str | None = None,
) -> BulkResult:
    """Give the leads to ``owner``, a sales rep: one UPDATE, and a timeline notice and audit event each.

    Junk and merged leads are left alone (restore or open the survivor first) and reported.
    """
    if not owner.is_active or SALES not in user_roles(owner) or not Rep.objects.filter(user=owner).exists():
        raise LeadOperationError(
            f"{_user_label(owner)} is not a sales rep with a rep profile, so cannot own leads.", field="owner"
        )
    locked, missing = _bulk_locked(lead_ids)
    assignable: list[Lead] = []
    skipped: dict[str, list[int]] = defaultdict(list)
    for lead in locked:
        if lead.status == Lead.Status.MERGED:
            skipped["merged into another lead"].append(lead.pk)
        elif lead.stage == Stage.JUNK:
            skipped["junk is not assigned (restore it first)"].append(lead.pk)
        elif lead.owner_id == owner.pk:
            skipped[f"already {_user_label(owner)}'s"].append(lead.pk)
        else:
            assignable.append(lead)
    if missing:
        skipped["no longer exists"] = missing
    if assignable:
        now = timezone.now()
        Lead.objects.filter(pk__in=[lead.pk for lead in assignable]).update(
            owner=owner, assigned_at=now, updated_at=now
        )
        Activity.objects.bulk_create(
            [
                Activity(
                    lead=lead,
                    kind=Activity.Kind.SYSTEM,
                    occurred_at=now,
                    subject=f"Assigned to {owner.get_username()}",
                    actor=actor if actor is not None and actor.is_authenticated else None,
                )
                for lead in assignable
            ]
        )
        audit_record_many(
            actor=actor,
            action="lead.assign",
            changes=[(lead, {"owner": [lead.owner_id, owner.pk]}) for lead in assignable],
            ip_address=ip_address,
        )
    return _bulk_result(f"assigned to {_user_label(owner)}", assignable, skipped)


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
    """Correct a lead's person, company or address details; re-score it if scored facts changed, and
    rewrite its blocking keys (then check it for duplicates again) if identifying facts changed."""
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
    from dedupe.services import lead_keys_refresh

    lead_keys_refresh(lead=locked, before=before)  # its blocking keys follow; duplicates checked again
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
def source_rotate_key(
    *,
    source: Source,
    actor: AbstractBaseUser | None,
    ip_address: str | None = None,
    grace_hours: int | None = None,
) -> str:
    """Give ``source`` a new API key and return it. The old key keeps working for ``grace_hours``
    (default ``SOURCE_KEY_GRACE_HOURS``; 0 revokes it at once, e.g. when it leaked), so the forms and
    tools using it can be switched over; a key older than that stops at once. Audited, with the end of
    the grace period."""
    grace_hours = settings.SOURCE_KEY_GRACE_HOURS if grace_hours is None else grace_hours
    if grace_hours < 0:
        raise LeadOperationError("The grace period cannot be negative.", field="grace_hours")
    locked = Source.objects.select_for_update().get(pk=source.pk)
    before = locked.api_key_prefix
    old_hash = locked.api_key_hash
    key = locked.set_new_api_key()
    if grace_hours and old_hash:
        locked.previous_api_key_hash = old_hash
        locked.previous_api_key_expires_at = timezone.now() + datetime.timedelta(hours=grace_hours)
    else:
        locked.previous_api_key_hash, locked.previous_api_key_expires_at = "", None
    locked.save(
        update_fields=[
            "api_key_prefix",
            "api_key_hash",
            "previous_api_key_hash",
            "previous_api_key_expires_at",
            "updated_at",
        ]
    )
    until = locked.previous_api_key_expires_at
    audit_record(
        actor=actor,
        action="source.rotate_key",
        obj=locked,
        changes={
            "api_key_prefix": [before, locked.api_key_prefix],
            "previous_key_valid_until": [None, until.isoformat() if until else None],
        },
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


@transaction.atomic
def contact_create(
    *, data: Mapping[str, Any], actor: AbstractBaseUser | None, ip_address: str | None = None
) -> Contact:
    """Add a contact (who may, at which account, is ``leads.permissions.contact_add_allowed``)."""
    return audited_create(instance=Contact(**data), actor=actor, action="contact.create", ip_address=ip_address)


@transaction.atomic
def contact_update(
    *, contact: Contact, data: Mapping[str, Any], actor: AbstractBaseUser | None, ip_address: str | None = None
) -> Contact:
    """Change a contact's details or account, audited (who may: ``leads.permissions.contact_change_allowed``)."""
    return audited_update(instance=contact, data=data, actor=actor, action="contact.update", ip_address=ip_address)


# --- Saved inbox views ------------------------------------------------------------------------


def saved_view_query_normalize(query: str | QueryDict) -> str:
    """An inbox query string in one canonical form: no page cursor, no empty values, keys in order.

    Two ways of writing the same filters give the same string, so a view can be recognised.
    """
    params = query if isinstance(query, QueryDict) else QueryDict(query.lstrip("?"))
    pairs = [(key, value) for key in sorted(params) if key != "cursor" for value in params.getlist(key) if value]
    return urlencode(pairs)


@transaction.atomic
def saved_view_create(*, owner: AbstractBaseUser, name: str, query: str, is_shared: bool = False) -> SavedView:
    """Keep the inbox filter ``query`` under ``name`` for ``owner`` (and the team, if shared)."""
    name = " ".join(name.split())
    if not name:
        raise LeadOperationError("Give the view a name.", field="name")
    query = saved_view_query_normalize(query)
    if len(query) > SavedView._meta.get_field("query").max_length:
        raise LeadOperationError("These filters are too long to keep as a view.", field="query")
    clash = f"You already have a view called “{name}”. Pick another name, or delete that one first."
    if SavedView.objects.filter(owner=owner, name__iexact=name).exists():
        raise LeadOperationError(clash, field="name")
    try:
        with transaction.atomic():
            return SavedView.objects.create(owner=owner, name=name, query=query, is_shared=is_shared)
    except IntegrityError as error:  # the same name saved twice at once
        raise LeadOperationError(clash, field="name") from error


def saved_view_delete(*, saved_view: SavedView, actor: AbstractBaseUser) -> None:
    """Remove one of ``actor``'s own views."""
    if saved_view.owner_id != actor.pk:
        raise LeadOperationError("Only the person who saved a view may delete it.")
    saved_view.delete()
