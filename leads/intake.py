"""Web-to-lead intake: store the raw submission first, answer at once, process in Celery."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone
from more_itertools import chunked

from leads.models import Lead, Source, SourceRecord, Submission
from leads.pipeline import leads_normalize
from leads.tasks import pipeline_drain_task, pipeline_start

#: Hidden form fields a person never fills in; a bot fills in everything.
HONEYPOT_FIELDS = ("hp", "honeypot", "_gotcha", "leave_blank", "fax_number_confirm")
#: A form sent back faster than this (``_elapsed_ms``, set by the form's script) was not typed by a person.
MIN_FILL_MS = 1500
_LINK = re.compile(r"https?://|www\.", re.I)
#: What identifies a person: without one of these a submission is refused.
IDENTIFYING = ("email", "phone", "name", "first_name", "last_name")

State = Lead.PipelineState


class IntakeError(ValueError):
    """A submission that cannot be accepted; ``errors`` is {field: [message]}."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__(errors)
        self.errors = errors


@dataclass(frozen=True, slots=True)
class IntakeResult:
    submission: Submission
    created: bool


def submission_spam_reason(payload: Mapping[str, Any]) -> str:
    """Why a submission looks like a bot's, or ``""``. Spam is stored all the same, then screened as junk."""
    for name in HONEYPOT_FIELDS:
        if str(payload.get(name) or "").strip():
            return f"hidden field '{name}' was filled in"
    elapsed = payload.get("_elapsed_ms")
    if elapsed not in (None, ""):
        try:
            if float(elapsed) < MIN_FILL_MS:
                return f"form sent {float(elapsed):.0f} ms after it was shown"
        except (TypeError, ValueError):
            return "form timing field is not a number"
    for name in ("first_name", "last_name", "name", "company"):
        if _LINK.search(str(payload.get(name) or "")):
            return f"a link in the {name.replace('_', ' ')} field"
    return ""


def submission_validate(payload: Any) -> dict[str, Any]:
    """The payload as a flat dict of strings, or ``IntakeError`` naming the field at fault."""
    if not isinstance(payload, Mapping):
        raise IntakeError({"non_field_errors": ["Send the lead as a JSON object or a form."]})
    clean: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for key, value in payload.items():
        key = str(key)[:100]
        if isinstance(value, list | tuple):  # a form field sent twice, or a JSON list
            value = ", ".join(str(v) for v in value)
        elif isinstance(value, dict):
            errors[key] = ["Must be a single value, not an object."]
            continue
        value = "" if value is None else str(value)
        if len(value) > 5000:
            errors[key] = [f"Is {len(value)} characters long; at most 5000."]
            continue
        clean[key] = value
    if len(clean) > 200:
        errors["non_field_errors"] = ["At most 200 fields."]
    if not any(str(clean.get(name, "")).strip() for name in IDENTIFYING):
        errors.setdefault("email", []).append("Give at least an e-mail, a phone number or a name.")
    if errors:
        raise IntakeError(errors)
    return clean


def submission_receive(
    *, source: Source, payload: Any, idempotency_key: str = "", meta: Mapping[str, Any] | None = None
) -> IntakeResult:
    """Store one web-to-lead submission and its new lead, and queue the pipeline once committed.

    A repeat of an ``idempotency_key`` returns the first submission; a repeat of an
    ``external_id`` from the same source is kept as another submission of the same lead.
    """
    idempotency_key = idempotency_key.strip()[:200]
    clean = submission_validate(payload)
    # Insert first and let the unique constraints speak: the common case (a new submission) costs
    # no look-up. A repeated Idempotency-Key finds the first submission.
    try:
        return IntakeResult(_store(source, clean, idempotency_key, dict(meta or {})), created=True)
    except IntegrityError:
        if idempotency_key:
            existing = Submission.objects.filter(source=source, idempotency_key=idempotency_key).first()
            if existing is not None:
                return IntakeResult(existing, created=False)
    # Another request stored the same source record id at the same moment: now it exists, so
    # this submission joins that lead.
    return IntakeResult(_store(source, clean, idempotency_key, dict(meta or {})), created=True)


@transaction.atomic
def _store(source: Source, payload: dict[str, Any], idempotency_key: str, meta: dict[str, Any]) -> Submission:
    external_id = str(payload.get("external_id") or "").strip()[:200]
    lead = None
    if external_id:
        record = SourceRecord.objects.filter(source=source, external_id=external_id).select_related("lead").first()
        lead = record.lead if record else None
    created = lead is None
    if created:
        lead = Lead.objects.create(source=source, pipeline_state=State.RECEIVED)
        if external_id:
            SourceRecord.objects.create(lead=lead, source=source, external_id=external_id)
    submission = Submission.objects.create(
        source=source,
        lead=lead,
        idempotency_key=idempotency_key,
        payload=payload,
        meta=meta,
        spam_reason=submission_spam_reason(payload),
    )
    if created:
        # Robust: the lead is stored; with the broker down the answer is still 202 and the sweeper
        # drives the lead on later, rather than a 500 that makes the sender post it twice.
        transaction.on_commit(pipeline_kick, robust=True)
    return submission


#: Set while a drain is queued or running, so a burst of submissions sends one drain, not one each.
DRAIN_PENDING_KEY = "pipeline:drain-pending"


def pipeline_kick() -> None:
    """After a submission commits: make sure a drain of ``received`` leads is on its way.

    At 300 submissions a second, a five-step chain per lead would be 1,500 small tasks a second;
    a drain takes whatever has arrived in batches instead. With a shared cache one drain serves a
    burst; the key expires by itself, so a drain lost with a killed worker is replaced by a later
    submission (and the sweeper re-drives in any case).
    """
    if settings.CELERY_TASK_ALWAYS_EAGER or not _cache_is_shared() or cache.add(DRAIN_PENDING_KEY, 1, timeout=30):
        pipeline_drain_task.delay()


def _cache_is_shared() -> bool:
    """Only a cache every process shares (Redis, Memcached) can tell a web process a drain is pending;
    with a per-process cache every submission sends its own drain (which then often finds nothing)."""
    backend = settings.CACHES["default"]["BACKEND"]
    return not backend.endswith(("LocMemCache", "DummyCache"))


def leads_drain_received(*, rounds: int = 200) -> int:
    """Normalize the leads waiting in ``received`` batch by batch and send each batch down the pipeline.

    Concurrent drains skip each other's locked rows. Clearing the pending key before the last
    look means a lead committed meanwhile is either found here or sends a new drain.
    """
    drained = 0
    for _ in range(rounds):
        ids = _normalize_next_received()
        if not ids:
            cache.delete(DRAIN_PENDING_KEY)
            ids = _normalize_next_received()
            if not ids:
                return drained
        pipeline_start(ids)
        drained += len(ids)
    pipeline_drain_task.delay()  # more is waiting than one drain takes: hand over
    return drained


@transaction.atomic
def _normalize_next_received() -> list[int]:
    ids = list(
        Lead.objects.select_for_update(skip_locked=True)
        .filter(pipeline_state=State.RECEIVED)
        .order_by("pk")
        .values_list("pk", flat=True)[: settings.PIPELINE_BATCH_SIZE]
    )
    if ids:
        leads_normalize(lead_ids=ids)
    return ids


def leads_redrive_stale(*, limit: int = 20_000) -> int:
    """Send leads stuck mid-pipeline (no change for ``PIPELINE_STALE_SECONDS``) down it again."""
    now = timezone.now()
    cutoff = now - timedelta(seconds=settings.PIPELINE_STALE_SECONDS)
    unfinished = [state for state in State.values if state != State.ROUTED]
    ids = list(
        Lead.objects.filter(pipeline_state__in=unfinished, updated_at__lt=cutoff, status=Lead.Status.ACTIVE)
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )
    Lead.objects.filter(pk__in=ids).update(updated_at=now)
    for chunk in chunked(ids, settings.PIPELINE_BATCH_SIZE):
        pipeline_start(chunk)
    return len(ids)
