"""Reads for routing: a rep's load, today's intake, the overflow queue."""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from leads.models import Lead, Stage
from routing.models import Assignment, OverflowEntry, Rejection, Rep, Territory


@dataclass(frozen=True, slots=True)
class RepLoad:
    #: Owned MQLs not yet accepted (``routing.services.lead_unworked_q``): what ``max_open_leads`` caps.
    open_leads: int = 0
    #: Leads given to the rep since midnight in their time zone (any rule): what ``max_new_per_day`` caps.
    today: int = 0


def rep_day_start(*, rep: Rep, now: datetime.datetime) -> datetime.datetime:
    """Midnight of today in the rep's time zone (UTC if it is unknown)."""
    try:
        zone = ZoneInfo(rep.timezone)
    except (KeyError, ValueError):
        zone = datetime.UTC
    local = now.astimezone(zone)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def rep_intake_today(*, reps: Iterable[Rep], now: datetime.datetime | None = None) -> dict[int, int]:
    """How many leads each rep was given today (their day), in one query."""
    now = now or timezone.now()
    by_start: dict[datetime.datetime, list[int]] = defaultdict(list)
    for rep in reps:
        by_start[rep_day_start(rep=rep, now=now)].append(rep.pk)
    if not by_start:
        return {}
    since = Q()
    for start, ids in by_start.items():
        since |= Q(rep_id__in=ids, created_at__gte=start)
    rows = Assignment.objects.filter(since).order_by().values("rep_id").annotate(n=Count("*"))
    return {row["rep_id"]: row["n"] for row in rows}


def rep_load(*, reps: Iterable[Rep], now: datetime.datetime | None = None) -> dict[int, RepLoad]:
    """Open (unworked) leads and today's intake for each rep: two grouped queries on indexed columns."""
    reps = list(reps)
    now = now or timezone.now()
    by_user = {rep.user_id: rep.pk for rep in reps}
    open_rows = (
        Lead.objects.filter(
            owner_id__in=list(by_user), stage=Stage.MQL, accepted_at__isnull=True, status=Lead.Status.ACTIVE
        )
        .order_by()
        .values("owner_id")
        .annotate(n=Count("*"))
    )
    open_leads = {by_user[row["owner_id"]]: row["n"] for row in open_rows}
    today = rep_intake_today(reps=reps, now=now)
    return {rep.pk: RepLoad(open_leads=open_leads.get(rep.pk, 0), today=today.get(rep.pk, 0)) for rep in reps}


def overflow_list(*, territory: Territory | None = None) -> QuerySet[OverflowEntry]:
    """Leads waiting in overflow (still unowned MQLs), hottest first, optionally of one territory."""
    entries = OverflowEntry.objects.filter(
        lead__owner__isnull=True, lead__stage=Stage.MQL, lead__status=Lead.Status.ACTIVE
    ).select_related("lead", "territory")
    if territory is not None:
        entries = entries.filter(territory=territory)
    return entries.order_by("-score", "created_at", "id")


def rejections_by_source(*, since: datetime.datetime | None = None) -> dict[int | None, dict[str, int]]:
    """How many leads reps rejected, per source (id; ``None`` for a deleted source) and reason: one grouped query."""
    rows = Rejection.objects.all()
    if since is not None:
        rows = rows.filter(created_at__gte=since)
    counts: dict[int | None, dict[str, int]] = defaultdict(dict)
    for row in rows.order_by().values("source_id", "reason").annotate(n=Count("*")):
        counts[row["source_id"]][row["reason"]] = row["n"]
    return dict(counts)
