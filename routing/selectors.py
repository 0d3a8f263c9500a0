"""Reads for routing: a rep's load, today's intake, the overflow queue, SLA breaches, notifications."""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils import timezone

from leads.admin import count_per_row
from leads.models import Lead, Stage
from routing.engine import RepSlot
from routing.models import (
    Assignment,
    Notification,
    OverflowEntry,
    Rejection,
    Rep,
    SlaBreach,
    Territory,
    TerritoryMembership,
)
from routing.working_hours import WorkWeek

#: How long a rep who rejected a lead, or let its SLA lapse, is passed over when it is routed again.
EXCLUSION_DAYS = 30


def lead_unworked_q() -> Q:
    """A rep's open, unworked leads, the ones their ``max_open_leads`` caps: owned MQLs not yet accepted.

    The one definition of a rep's "open leads" (routing, the queue's load meter, the reps API and the
    admin all count with it). Once a rep accepts a lead (SAL and beyond) it is being worked and no
    longer counts.
    """
    return Q(stage=Stage.MQL, accepted_at__isnull=True, status=Lead.Status.ACTIVE)


def reps_with_open_leads(reps: QuerySet[Rep]) -> QuerySet[Rep]:
    """``reps`` annotated with ``open_leads`` (as ``rep_load`` counts them), for lists sorted by it."""
    # (count_per_row: a correlated subquery per row of the page, not a join over every lead.)
    return reps.annotate(open_leads=count_per_row(Lead.objects.filter(lead_unworked_q()), "owner", outer="user_id"))


@dataclass(frozen=True, slots=True)
class RepLoad:
    #: Owned MQLs not yet accepted (``lead_unworked_q``): what ``max_open_leads`` caps.
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
        Lead.objects.filter(lead_unworked_q(), owner_id__in=list(by_user))
        .order_by()
        .values("owner_id")
        .annotate(n=Count("*"))
    )
    open_leads = {by_user[row["owner_id"]]: row["n"] for row in open_rows}
    today = rep_intake_today(reps=reps, now=now)
    return {rep.pk: RepLoad(open_leads=open_leads.get(rep.pk, 0), today=today.get(rep.pk, 0)) for rep in reps}


def rep_slots(*, reps: Iterable[Rep], now: datetime.datetime) -> dict[int, RepSlot]:
    """The reps as the routing engine sees them, with their load counted now (locked or not: the caller's choice)."""
    reps = list(reps)
    load = rep_load(reps=reps, now=now)
    return {
        rep.pk: RepSlot(
            rep_id=rep.pk,
            user_id=rep.user_id,
            name=str(rep),
            open_leads=load[rep.pk].open_leads,
            max_open_leads=rep.max_open_leads,
            today=load[rep.pk].today,
            max_new_per_day=rep.max_new_per_day,
            min_score=rep.min_score,
            is_available=rep.is_available,
            out_of_office_until=rep.out_of_office_until,
            out_of_office_from=rep.out_of_office_from,
            backup_id=rep.backup_id,
            week=WorkWeek.of(rep),
        )
        for rep in reps
    }


@dataclass(frozen=True, slots=True)
class RepRow:
    """A rep as the reps page lists them: profile, load, today's intake and recent SLA lapses."""

    rep: Rep
    open_leads: int
    today: int
    sla_breaches: int
    away: bool


def rep_list_with_load(*, now: datetime.datetime, breach_days: int = 30) -> list[RepRow]:
    """Every rep with their load (``rep_load``) and SLA lapses in the last ``breach_days`` days: four queries."""
    reps = list(
        Rep.objects.select_related("user", "backup__user").prefetch_related("territories").order_by("user__username")
    )
    load = rep_load(reps=reps, now=now)
    breaches = sla_breaches_by_rep(since=now - datetime.timedelta(days=breach_days))
    return [
        RepRow(rep, load[rep.pk].open_leads, load[rep.pk].today, breaches.get(rep.pk, 0), rep.is_away(now))
        for rep in reps
    ]


def territory_list() -> QuerySet[Territory]:
    """Territories with their manager, reps (and weights) and how many leads wait in each one's overflow."""
    return (
        Territory.objects.select_related("manager")
        .prefetch_related(
            Prefetch(
                "memberships",
                queryset=TerritoryMembership.objects.select_related("rep__user").order_by("rep__user__username"),
            )
        )
        .annotate(waiting=count_per_row(OverflowEntry.objects.all(), "territory"))
        .order_by("priority", "name")
    )


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


def routing_exclusions(*, lead_ids: Iterable[int], now: datetime.datetime) -> dict[int, dict[int, str]]:
    """Per lead, the reps routing must pass over (rep id -> why): who rejected it or let its SLA lapse lately."""
    ids = list(lead_ids)
    since = now - datetime.timedelta(days=EXCLUSION_DAYS)
    excluded: dict[int, dict[int, str]] = defaultdict(dict)
    lapsed = SlaBreach.objects.filter(lead_id__in=ids, rep__isnull=False, breached_at__gte=since)
    for lead_id, rep_id in lapsed.values_list("lead_id", "rep_id"):
        excluded[lead_id][rep_id] = "let its SLA lapse"
    rejected = Rejection.objects.filter(lead_id__in=ids, rep__isnull=False, created_at__gte=since)
    for lead_id, rep_id in rejected.values_list("lead_id", "rep_id"):
        excluded[lead_id][rep_id] = "rejected it"
    return dict(excluded)


def _breaches(since: datetime.datetime | None, until: datetime.datetime | None) -> QuerySet[SlaBreach]:
    rows = SlaBreach.objects.all()
    if since is not None:
        rows = rows.filter(breached_at__gte=since)
    if until is not None:
        rows = rows.filter(breached_at__lt=until)
    return rows.order_by()


def sla_breaches_by_rep(
    *,
    since: datetime.datetime | None = None,
    until: datetime.datetime | None = None,
    rep_ids: Iterable[int] | None = None,
) -> dict[int, int]:
    """How many SLAs each rep let lapse (rep id -> count; reps with none are left out): one grouped query."""
    rows = _breaches(since, until).filter(rep__isnull=False)
    if rep_ids is not None:
        rows = rows.filter(rep_id__in=list(rep_ids))
    return {row["rep_id"]: row["n"] for row in rows.values("rep_id").annotate(n=Count("*"))}


def sla_breaches_by_source(
    *, since: datetime.datetime | None = None, until: datetime.datetime | None = None
) -> dict[int | None, int]:
    """How many leads of each source (id; ``None``: no or a deleted source) had an SLA lapse: one grouped query."""
    rows = _breaches(since, until)
    return {row["source_id"]: row["n"] for row in rows.values("source_id").annotate(n=Count("*"))}


def notification_list(*, user: AbstractBaseUser) -> QuerySet[Notification]:
    """The user's notifications, newest first."""
    return Notification.objects.filter(user=user).select_related("lead").order_by("-created_at", "-id")


def notification_unread_count(*, user: AbstractBaseUser) -> int:
    if not user.is_authenticated:
        return 0
    return Notification.objects.filter(user=user, read_at__isnull=True).count()
