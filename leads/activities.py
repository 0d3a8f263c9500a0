"""Recording what happens on a lead's timeline: engagement reported by tools, notes and calls by people.

An engagement activity (a pricing-page visit, a webinar, an e-mail click...) changes the lead's score:
once the activity is committed, a worker rescores the lead under the published definition, and a
lead that crosses the MQL threshold moves stage by the usual rules (``scoring.qualify``).
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Mapping, Sequence
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, Value
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from leads.models import Activity, Lead, Source, SourceRecord, Submission
from leads.normalize import normalize_email
from leads.services import LeadOperationError
from scoring.qualify import SCORED_STATES
from scoring.services import ENGAGEMENT_KINDS

#: How far ahead of our clock an activity's time may be (senders' clocks drift a little), no further.
FUTURE_TOLERANCE = datetime.timedelta(minutes=5)
#: System notices are LeadFlow's own; people and tools record every other kind.
SYSTEM_KIND = Activity.Kind.SYSTEM
SUBJECT_MAX = Activity._meta.get_field("subject").max_length
URL_MAX = Activity._meta.get_field("url").max_length
BODY_MAX = 20_000
META_MAX_BYTES = 4_000
#: What counts as sales touching a lead: the first one after accepting meets the touch SLA (``routing``).
TOUCH_KINDS = frozenset({Activity.Kind.CALL, Activity.Kind.MEETING, Activity.Kind.NOTE})


def activity_check(
    *, kind: str, occurred_at: datetime.datetime | None, subject: str, url: str, body: str, meta: Any
) -> datetime.datetime:
    """Refuse what cannot be recorded, naming the field; returns the activity's time (now if not given)."""
    now = timezone.now()
    if kind not in Activity.Kind.values:
        raise LeadOperationError(f"Unknown activity kind {kind!r}.", field="kind")
    if kind == SYSTEM_KIND:
        raise LeadOperationError("System notices are written by LeadFlow itself; choose another kind.", field="kind")
    if occurred_at is None:
        occurred_at = now
    elif timezone.is_naive(occurred_at):
        raise LeadOperationError("Give the time with its UTC offset, e.g. 2025-06-01T12:00:00Z.", field="occurred_at")
    elif occurred_at > now + FUTURE_TOLERANCE:
        raise LeadOperationError(
            f"The activity cannot be more than {int(FUTURE_TOLERANCE.total_seconds() // 60)} minutes in the future.",
            field="occurred_at",
        )
    for name, value, limit in (("subject", subject, SUBJECT_MAX), ("url", url, URL_MAX), ("body", body, BODY_MAX)):
        if len(value) > limit:
            raise LeadOperationError(f"At most {limit} characters ({len(value)} given).", field=name)
    if not isinstance(meta, Mapping):
        raise LeadOperationError("Meta must be a JSON object.", field="meta")
    if len(json.dumps(meta, default=str)) > META_MAX_BYTES:
        raise LeadOperationError(f"Meta must be at most {META_MAX_BYTES} bytes as JSON.", field="meta")
    return occurred_at


def activity_record(
    *,
    lead: Lead,
    kind: str,
    occurred_at: datetime.datetime | None = None,
    subject: str = "",
    url: str = "",
    body: str = "",
    actor: AbstractBaseUser | None = None,
    source: Source | None = None,
    meta: Mapping[str, Any] | None = None,
) -> Activity:
    """Add an activity to ``lead``'s timeline; engagement rescores the lead once it is committed."""
    [activity] = _record(
        leads=[lead],
        kind=kind,
        occurred_at=occurred_at,
        subject=subject,
        url=url,
        body=body,
        actor=actor,
        source=source,
        meta=meta,
    )
    return activity


def leads_of_source(source: Source) -> Q:
    """The leads a source's key may touch: those of that source, and those it sent a record or a
    submission into (a lead it submitted that was merged into another lead of another source)."""
    return (
        Q(source=source)
        | Exists(Submission.objects.filter(lead=OuterRef("pk"), source=source))
        | Exists(SourceRecord.objects.filter(lead=OuterRef("pk"), source=source))
    )


def activities_record_by_email(
    *,
    source: Source,
    email: str,
    kind: str,
    occurred_at: datetime.datetime | None = None,
    subject: str = "",
    url: str = "",
    body: str = "",
    meta: Mapping[str, Any] | None = None,
) -> list[Activity]:
    """Record an activity a tool reports by e-mail address on every active lead with that address that
    ``source`` may write to (``leads_of_source``).

    The address is normalized as intake normalizes it (trimmed, lower-cased). Returns the activities
    made, one per lead, none when no such lead has the address.
    """
    normalized, problem = normalize_email(email)
    if not normalized or problem:
        raise LeadOperationError(problem or "An e-mail address is needed.", field="email")
    leads = list(
        Lead.objects.filter(leads_of_source(source), email=normalized, status=Lead.Status.ACTIVE)
        .only("pk", "status", "pipeline_state")
        .order_by("pk")
    )
    if not leads:
        # Checked all the same, so a bad request is a 400 whether or not the address is known.
        activity_check(kind=kind, occurred_at=occurred_at, subject=subject, url=url, body=body, meta=meta or {})
        return []
    return _record(
        leads=leads,
        kind=kind,
        occurred_at=occurred_at,
        subject=subject,
        url=url,
        body=body,
        actor=None,
        source=source,
        meta=meta,
    )


@transaction.atomic
def _record(
    *,
    leads: Sequence[Lead],
    kind: str,
    occurred_at: datetime.datetime | None,
    subject: str,
    url: str,
    body: str,
    actor: AbstractBaseUser | None,
    source: Source | None,
    meta: Mapping[str, Any] | None,
) -> list[Activity]:
    meta = dict(meta or {})
    at = activity_check(kind=kind, occurred_at=occurred_at, subject=subject, url=url, body=body, meta=meta)
    if source is not None:
        meta["source"] = source.slug
    activities = Activity.objects.bulk_create(
        [
            Activity(
                lead=lead,
                kind=kind,
                occurred_at=at,
                subject=subject,
                url=url,
                body=body,
                actor=actor if actor is not None and actor.is_authenticated else None,
                meta=meta,
            )
            for lead in leads
        ]
    )
    # updated_at is left alone: it is the pipeline's clock for leads stuck mid-way, not a timeline.
    Lead.objects.filter(pk__in=[lead.pk for lead in leads]).update(
        last_activity_at=Greatest(Coalesce("last_activity_at", Value(at)), Value(at))
    )
    if kind in TOUCH_KINDS:
        # An accepted lead's only SLA is its first touch: met, so its clock stops.
        Lead.objects.filter(
            pk__in=[lead.pk for lead in leads], accepted_at__isnull=False, sla_due_at__isnull=False
        ).update(sla_due_at=None)
    if kind in ENGAGEMENT_KINDS:
        _rescore_on_commit([lead.pk for lead in leads if _scored(lead)])
    return activities


def _scored(lead: Lead) -> bool:
    """Through the pipeline's scoring step already; before it, that step will count the activity."""
    return lead.status == Lead.Status.ACTIVE and lead.pipeline_state in SCORED_STATES


def _rescore_on_commit(lead_ids: list[int]) -> None:
    if not lead_ids:
        return

    def send() -> None:
        from scoring.tasks import lead_score_task

        for lead_id in lead_ids:
            lead_score_task.delay(lead_id)

    transaction.on_commit(send)
