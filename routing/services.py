"""Business operations on territories and reps. Keyword-only functions named ``<entity>_<action>``."""

from __future__ import annotations

import dataclasses
import datetime
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from leadflow.db import bulk_update_rows
from leads.activities import TOUCH_KINDS
from leads.models import OPEN_STAGES, Activity, Lead, Stage
from leads.selectors import lead_definition_current
from leads.services import (
    LeadOperationError,
    audit_record,
    audited_create,
    audited_delete,
    audited_update,
    lead_change_stage,
)
from routing.engine import TERRITORY_ROUND_ROBIN, LeadToRoute, RepSlot, Roster, Seat, TerritorySeats
from routing.matching import territory_for
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
from routing.selectors import rep_load, rep_slots, routing_exclusions
from routing.working_hours import WorkWeek, working_deadline
from scoring.defaults import DEFAULT_RULES
from scoring.services import lead_fields

#: What a rep may change on their own profile: how much they want right now, not their capacity.
REP_SELF_SERVICE_FIELDS = frozenset({"min_score", "is_available", "out_of_office_from", "out_of_office_until"})


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


def _seats_shown(territory: Territory) -> dict[str, int]:
    """The territory's reps as the audit trail keeps them: ``{username: weight}``."""
    rows = territory.memberships.select_related("rep__user").order_by("rep__user__username")
    return {membership.rep.user.get_username(): membership.weight for membership in rows}


@transaction.atomic
def territory_seats_set(
    *, territory: Territory, seats: Mapping[int, int], actor: AbstractBaseUser | None, ip_address: str | None = None
) -> None:
    """Seat exactly these reps (rep id -> weight) in ``territory``; a rep who keeps a seat keeps its
    round-robin count. Records the reps before and after in one audit event when anything changed."""
    before = _seats_shown(territory)
    current = {membership.rep_id: membership for membership in territory.memberships.all()}
    territory.memberships.exclude(rep_id__in=list(seats)).delete()
    changed = [m for rep_id, m in current.items() if rep_id in seats and m.weight != seats[rep_id]]
    for membership in changed:
        membership.weight = seats[membership.rep_id]
    TerritoryMembership.objects.bulk_update(changed, ["weight"])
    TerritoryMembership.objects.bulk_create(
        [
            TerritoryMembership(territory=territory, rep_id=rep_id, weight=w)
            for rep_id, w in seats.items()
            if rep_id not in current
        ]
    )
    after = _seats_shown(territory)
    if after != before:
        audit_record(
            actor=actor,
            action="territory.reps",
            obj=territory,
            changes={"reps": [before, after]},
            ip_address=ip_address,
        )


@transaction.atomic
def territory_save(
    *,
    territory: Territory | None,
    data: Mapping[str, Any],
    seats: Mapping[int, int] | None,
    actor: AbstractBaseUser | None,
    ip_address: str | None = None,
) -> Territory:
    """Create (``territory`` None) or change a territory and, if ``seats`` are given, its reps: all or nothing."""
    if territory is None:
        territory = territory_create(data=data, actor=actor, ip_address=ip_address)
    else:
        territory = territory_update(territory=territory, data=data, actor=actor, ip_address=ip_address)
    if seats is not None:
        territory_seats_set(territory=territory, seats=seats, actor=actor, ip_address=ip_address)
    return territory


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


# --- Routing ----------------------------------------------------------------------------------
# Every path that gives a lead to a rep (routing a batch, draining overflow, a claim from overflow, a
# reassignment by hand) locks the lead rows first, then the rep rows it may give them to, in id order,
# in one statement, and counts the reps' load only once they are locked: so concurrent workers queue
# on the same reps instead of both seeing the same free slot, and can never deadlock.


class RoutingError(LeadOperationError):
    """A routing operation that is not allowed (the rep has no room, the lead is not in overflow...)."""


@dataclass(frozen=True, slots=True)
class RouteResult:
    """What routing a batch (or draining overflow) did, by lead id."""

    assigned: dict[int, int] = field(default_factory=dict)  # lead id -> rep id
    overflowed: tuple[int, ...] = ()
    skipped: tuple[int, ...] = ()  # not an unowned active MQL, already waiting in overflow, or gone
    by_rule: dict[str, int] = field(default_factory=dict)
    why: dict[int, str] = field(default_factory=dict)  # lead id -> why nobody took it (``overflow=False``)


def lead_routable(lead: Lead) -> bool:
    """Whether routing would give ``lead`` to someone: an unowned, active MQL. The route step only
    moves the others on, so a batch scored in memory (an import chunk) inserts those finished."""
    return lead.owner_id is None and lead.stage == Stage.MQL and lead.status == Lead.Status.ACTIVE


SLA_ACCEPT = "accept"
SLA_TOUCH = "touch"


def sla_hours(*, score: int, sla: Mapping[str, Any], kind: str = SLA_ACCEPT) -> float | None:
    """The SLA's hours for a lead of ``score``: to accept it, or (``touch``) to call, meet or note it once
    accepted; ``None`` when the definition sets no such SLA (touch hours are optional)."""
    hot = score >= int(sla.get("hot_score", 80))
    if kind == SLA_TOUCH:
        hours = sla.get("hot_touch_hours" if hot else "touch_hours")
    else:
        hours = sla.get("hot_accept_hours", 2) if hot else sla.get("accept_hours", 24)
    return None if hours in (None, "") else float(hours)


def sla_due(
    *,
    score: int,
    at: datetime.datetime,
    sla: Mapping[str, Any],
    kind: str = SLA_ACCEPT,
    week: WorkWeek | None = None,
) -> datetime.datetime | None:
    """When the lead given (or accepted) ``at`` must be accepted (or touched): hot leads sooner.

    Counted in ``week``, the rep's working hours (2 hours at 16:30 on a Friday end at 10:30 on Monday);
    wall-clock hours without one. ``None`` when there is no such SLA.
    """
    hours = sla_hours(score=score, sla=sla, kind=kind)
    if hours is None:
        return None
    if week is None:
        return at + datetime.timedelta(hours=hours)
    return working_deadline(start=at, hours=hours, week=week)


def _sla_rules() -> Mapping[str, Any]:
    definition = lead_definition_current()
    return (definition.rules.get("sla") if definition else None) or DEFAULT_RULES["sla"]


def _reps_locked(rep_ids: Iterable[int], *, now: datetime.datetime) -> dict[int, RepSlot]:
    """Lock the reps (one statement, id order) and count their load, now that nobody else can add to it."""
    ids = sorted(set(rep_ids))
    if not ids:
        return {}
    reps = list(Rep.objects.select_for_update(of=("self",)).select_related("user").filter(pk__in=ids).order_by("pk"))
    return rep_slots(reps=reps, now=now)


def _route_locked(
    leads: list[Lead],
    *,
    now: datetime.datetime,
    waiting: Mapping[int, OverflowEntry],
    overflow: bool = True,
    rule: str | None = None,
    preface: Mapping[int, str] | None = None,
    also_exclude: Mapping[int, Mapping[int, str]] | None = None,
) -> RouteResult:
    """Route ``leads`` (locked by the caller, each an active MQL), hottest first.

    ``waiting`` are the overflow entries some of them already have (when draining): a lead that
    still finds nobody stays where it is, without a new assignment row. For each lead, the reps who
    rejected it or let its SLA lapse lately are passed over (``routing_exclusions``). With
    ``overflow=False`` a lead nobody has room for is left as it is (listed in ``overflowed``, nothing
    written). ``rule`` replaces the engine's rule on the assignment rows (e.g. ``sla_reassign``) and
    ``preface`` (lead id -> words) opens their reason; ``also_exclude`` adds reps to pass over per lead.
    """
    territories = list(Territory.objects.filter(is_active=True))
    by_id = {territory.pk: territory for territory in territories}
    matched = {lead.pk: territory_for(lead_fields(lead=lead), territories) for lead in leads}
    owner_user_ids = {lead.account.owner_id for lead in leads if lead.account_id and lead.account.owner_id}
    owners = list(Rep.objects.filter(user_id__in=owner_user_ids).values_list("pk", "backup_id"))
    territory_ids = {territory.pk for territory in matched.values() if territory is not None}
    seats = list(TerritoryMembership.objects.filter(territory_id__in=territory_ids).values_list("rep_id", flat=True))
    candidates = {pk for pk, _ in owners} | {backup for _, backup in owners if backup} | set(seats)
    reps = _reps_locked(candidates, now=now)
    memberships = list(
        TerritoryMembership.objects.filter(territory_id__in=territory_ids, rep_id__in=list(reps)).order_by("pk")
    )
    seated: dict[int, TerritorySeats] = {
        pk: TerritorySeats(territory_id=pk, name=by_id[pk].name) for pk in territory_ids
    }
    seat_of: dict[tuple[int, int], tuple[Seat, TerritoryMembership]] = {}
    for membership in memberships:
        seat = Seat(rep_id=membership.rep_id, weight=membership.weight, routed_count=membership.routed_count)
        seated[membership.territory_id].seats.append(seat)
        seat_of[membership.territory_id, membership.rep_id] = (seat, membership)
    roster = Roster(reps=reps, territories=seated, now=now)
    rep_users = {slot.rep_id: slot.user_id for slot in reps.values()}
    sla = _sla_rules()
    excluded = routing_exclusions(lead_ids=[lead.pk for lead in leads], now=now)
    for lead_id, reps_out in (also_exclude or {}).items():
        excluded[lead_id] = {**excluded.get(lead_id, {}), **reps_out}
    preface = preface or {}

    assigned: dict[int, int] = {}
    overflowed: list[int] = []
    why: dict[int, str] = {}
    by_rule: Counter[str] = Counter()
    changed_leads: list[Lead] = []
    assignments: list[Assignment] = []
    activities: list[Activity] = []
    new_entries: list[OverflowEntry] = []
    moved_entries: list[OverflowEntry] = []
    for lead in sorted(leads, key=lambda lead: (-lead.score, lead.pk)):
        territory = matched[lead.pk]
        account = lead.account if lead.account_id else None
        decision = roster.decide(
            LeadToRoute(
                lead_id=lead.pk,
                score=lead.score,
                territory_id=territory.pk if territory else None,
                account_name=account.name if account else "",
                account_owner_user_id=account.owner_id if account else None,
                excluded=excluded.get(lead.pk, {}),
            )
        )
        reason = f"{preface[lead.pk]} {decision.reason}" if lead.pk in preface else decision.reason
        if decision.rep_id is None and not overflow:
            overflowed.append(lead.pk)
            why[lead.pk] = decision.reason
            continue
        if decision.rep_id is None:
            overflowed.append(lead.pk)
            entry = waiting.get(lead.pk)
            if entry is not None:
                if entry.territory_id != decision.territory_id:
                    entry.territory_id = decision.territory_id
                    moved_entries.append(entry)
                continue
            by_rule[decision.rule] += 1
            new_entries.append(
                OverflowEntry(
                    lead=lead,
                    territory_id=decision.territory_id,
                    score=lead.score,
                    reason=reason,
                    created_at=now,
                )
            )
        else:
            by_rule[decision.rule] += 1
            assigned[lead.pk] = decision.rep_id
            lead.owner_id = rep_users[decision.rep_id]
            lead.assigned_at = now
            lead.sla_due_at = sla_due(score=lead.score, at=now, sla=sla, week=reps[decision.rep_id].week)
            lead.updated_at = now
            changed_leads.append(lead)
            if decision.rule == TERRITORY_ROUND_ROBIN:
                _, membership = seat_of[decision.territory_id, decision.rep_id]
                membership.routed_count += 1
                membership.last_routed_at = now
        assignments.append(
            Assignment(
                lead=lead,
                rep_id=decision.rep_id,
                territory_id=decision.territory_id,
                rule=rule if rule and decision.rep_id else decision.rule,
                reason=reason,
                created_at=now,
            )
        )
        activities.append(
            _assignment_notice(
                lead=lead,
                rule=rule if rule and decision.rep_id else decision.rule,
                rep=reps.get(decision.rep_id) if decision.rep_id else None,
                territory=by_id.get(decision.territory_id) if decision.territory_id else None,
                reason=reason,
                at=now,
            )
        )
    bulk_update_rows(changed_leads, ["owner", "assigned_at", "sla_due_at", "updated_at"])
    bulk_update_rows([m for m in memberships if m.last_routed_at == now], ["routed_count", "last_routed_at"])
    Assignment.objects.bulk_create(assignments)
    Activity.objects.bulk_create(activities)
    OverflowEntry.objects.bulk_create(new_entries)
    bulk_update_rows(moved_entries, ["territory"])
    OverflowEntry.objects.filter(lead_id__in=list(assigned)).delete()
    return RouteResult(assigned=assigned, overflowed=tuple(overflowed), by_rule=dict(by_rule), why=why)


_NOTICE = {
    Assignment.Rule.ACCOUNT_OWNER: "Assigned to {rep} as the account owner",
    Assignment.Rule.BACKUP: "Assigned to {rep} as backup for the account owner",
    Assignment.Rule.TERRITORY_ROUND_ROBIN: "Assigned to {rep} by territory round robin ({territory})",
    Assignment.Rule.OVERFLOW: "Nobody had room: waiting in the {territory} overflow",
    Assignment.Rule.MANUAL: "Reassigned to {rep} by {actor}",
    Assignment.Rule.CLAIM: "Claimed from overflow by {rep}",
    Assignment.Rule.SLA_REASSIGN: "Reassigned to {rep} after the SLA lapsed",
}


def _assignment_notice(
    *,
    lead: Lead,
    rule: str,
    rep: RepSlot | Rep | None,
    territory: Territory | None,
    reason: str,
    at: datetime.datetime,
    actor: AbstractBaseUser | None = None,
) -> Activity:
    """The line on the lead's timeline, e.g. "Assigned to Rick by territory round robin (EMEA)"."""
    name = rep.name if isinstance(rep, RepSlot) else str(rep) if rep else ""
    subject = _NOTICE[rule].format(
        rep=name,
        territory=territory.name if territory else "no-territory",
        actor=actor.get_username() if actor else "routing",
    )
    return Activity(
        lead=lead,
        kind=Activity.Kind.SYSTEM,
        occurred_at=at,
        subject=subject[:300],
        body=reason,
        actor=actor,
        meta={"rule": rule, "rep": rep.rep_id if isinstance(rep, RepSlot) else getattr(rep, "pk", None)},
    )


def _leads_locked(lead_ids: Iterable[int], *, skip_locked: bool = False) -> list[Lead]:
    """The leads, locked in id order, with what routing reads of them (source and account joined)."""
    ids = sorted(set(lead_ids))
    if not ids:
        return []
    return list(
        Lead.objects.select_for_update(of=("self",), skip_locked=skip_locked)
        .select_related("source", "account")
        .filter(pk__in=ids)
        .order_by("pk")
    )


@transaction.atomic
def leads_route_batch(*, lead_ids: Iterable[int]) -> RouteResult:
    """Route the unowned, active MQLs among ``lead_ids`` to reps (or overflow); leave the others alone.

    Safe to run twice, and concurrently: a lead already owned or waiting in overflow is skipped.
    A rep who rejected a lead or let its SLA lapse lately gets none of it (``routing_exclusions``).
    """
    now = timezone.now()
    locked = _leads_locked(lead_ids)
    # Counted after the leads are locked (a new statement sees what a routing that held them committed).
    waiting = set(
        OverflowEntry.objects.filter(lead_id__in=[lead.pk for lead in locked]).values_list("lead_id", flat=True)
    )
    routable = [lead for lead in locked if lead_routable(lead) and lead.pk not in waiting]
    skipped = sorted(set(lead_ids) - {lead.pk for lead in routable})
    if not routable:
        return RouteResult(skipped=tuple(skipped))
    result = _route_locked(routable, now=now, waiting={})
    return dataclasses.replace(result, skipped=tuple(skipped))


def overflow_drain(*, territory: Territory | None = None, limit: int = 500) -> int:
    """Give waiting leads to reps who have room now, hottest first; returns how many were assigned.

    Each territory's overflow (and the one for leads in no territory) is drained in its own
    transaction, at most ``limit`` leads at a time; leads another worker holds are left for the next run.
    """
    if territory is not None:
        territory_ids: list[int | None] = [territory.pk]
    else:
        territory_ids = list(OverflowEntry.objects.order_by().values_list("territory_id", flat=True).distinct())
    return sum(_overflow_drain_one(territory_id=territory_id, limit=limit) for territory_id in territory_ids)


@transaction.atomic
def _overflow_drain_one(*, territory_id: int | None, limit: int) -> int:
    hottest = OverflowEntry.objects.filter(territory_id=territory_id).order_by("-score", "created_at", "id")
    lead_ids = list(hottest.values_list("lead_id", flat=True)[:limit])
    locked = _leads_locked(lead_ids, skip_locked=True)
    entries = {entry.lead_id: entry for entry in OverflowEntry.objects.filter(lead_id__in=[le.pk for le in locked])}
    # Claimed, assigned by hand, back in nurture or merged meanwhile: no longer waiting.
    stale = [lead.pk for lead in locked if lead.pk in entries and not lead_routable(lead)]
    OverflowEntry.objects.filter(lead_id__in=stale).delete()
    routable = [lead for lead in locked if lead.pk in entries and lead_routable(lead)]
    if not routable:
        return 0
    return len(_route_locked(routable, now=timezone.now(), waiting=entries).assigned)


def _give(
    *,
    lead: Lead,
    rep: Rep,
    rule: str,
    reason: str,
    actor: AbstractBaseUser | None,
    now: datetime.datetime,
) -> Assignment:
    """Give ``lead`` (locked) to ``rep`` (locked, room checked), with its SLA, assignment row and notice."""
    lead.owner_id = rep.user_id
    lead.assigned_at = now
    # An accepted lead handed on keeps being worked: its new owner's clock is the first touch's.
    kind = SLA_TOUCH if lead.accepted_at is not None else SLA_ACCEPT
    lead.sla_due_at = sla_due(score=lead.score, at=now, sla=_sla_rules(), kind=kind, week=WorkWeek.of(rep))
    lead.save(update_fields=["owner", "assigned_at", "sla_due_at", "updated_at"])
    OverflowEntry.objects.filter(lead=lead).delete()
    assignment = Assignment.objects.create(
        lead=lead, rep=rep, rule=rule, reason=reason, assigned_by=actor, created_at=now
    )
    _assignment_notice(lead=lead, rule=rule, rep=rep, territory=None, reason=reason, at=now, actor=actor).save()
    return assignment


def _rep_room_refusal(rep: Rep, *, now: datetime.datetime) -> str | None:
    load = rep_load(reps=[rep], now=now)[rep.pk]
    if load.open_leads >= rep.max_open_leads:
        return f"{rep} is at capacity ({load.open_leads} of {rep.max_open_leads} open leads)."
    if load.today >= rep.max_new_per_day:
        return f"{rep} already had {load.today} of {rep.max_new_per_day} new leads today."
    return None


@transaction.atomic
def overflow_claim(*, lead: Lead, user: AbstractBaseUser, ip_address: str | None = None) -> Assignment:
    """A rep takes an unowned, active MQL (most often one waiting in overflow), if they have room
    (open leads and today's intake, counted under their row lock): the one way to claim a lead."""
    now = timezone.now()
    [locked] = _leads_locked([lead.pk]) or [None]
    if locked is None or not lead_routable(locked):
        raise RoutingError("This lead is no longer free to claim.")
    rep = Rep.objects.select_for_update(of=("self",)).select_related("user").filter(user_id=user.pk).first()
    if rep is None:
        raise RoutingError("Only a sales rep with a rep profile can claim leads.")
    refusal = _rep_room_refusal(rep, now=now)
    if refusal:
        raise RoutingError(refusal)
    assignment = _give(
        lead=locked, rep=rep, rule=Assignment.Rule.CLAIM, reason=f"{rep} claimed it from overflow.", actor=user, now=now
    )
    audit_record(actor=user, action="lead.claim", obj=locked, changes={"owner": [None, user.pk]}, ip_address=ip_address)
    lead.refresh_from_db()
    return assignment


@transaction.atomic
def lead_reassign(
    *, lead: Lead, rep: Rep, actor: AbstractBaseUser, reason: str = "", ip_address: str | None = None
) -> Assignment:
    """Give an open lead to ``rep`` by hand, never past their capacity; records who did it and why."""
    now = timezone.now()
    [locked] = _leads_locked([lead.pk]) or [None]
    if locked is None or locked.status != Lead.Status.ACTIVE or locked.stage not in OPEN_STAGES:
        raise RoutingError("Only an active, open lead can be reassigned.")
    rep = Rep.objects.select_for_update(of=("self",)).select_related("user").get(pk=rep.pk)
    if locked.owner_id == rep.user_id:
        raise RoutingError(f"This lead is already {rep}'s.", field="rep")
    refusal = _rep_room_refusal(rep, now=now)
    if refusal:
        raise RoutingError(refusal, field="rep")
    previous = locked.owner_id
    why = reason.strip() or f"Reassigned by {actor.get_username()}."
    assignment = _give(lead=locked, rep=rep, rule=Assignment.Rule.MANUAL, reason=why, actor=actor, now=now)
    audit_record(
        actor=actor,
        action="lead.reassign",
        obj=locked,
        changes={"owner": [previous, rep.user_id]},
        ip_address=ip_address,
    )
    lead.refresh_from_db()
    return assignment


# --- The rep's side: accepting and rejecting what routing gave them ---------------------------


def _owned_unaccepted_locked(*, lead: Lead, user: AbstractBaseUser, verb: str) -> Lead:
    """``lead``, locked, if ``user`` owns it and it still waits for their answer (an active MQL)."""
    [locked] = _leads_locked([lead.pk]) or [None]
    if locked is None or locked.owner_id != user.pk:
        raise RoutingError(f"Only the lead's owner can {verb} it.")
    if locked.status != Lead.Status.ACTIVE or locked.stage != Stage.MQL or locked.accepted_at is not None:
        raise RoutingError(
            f"Only a lead waiting for its owner's answer (an active MQL) can be {verb}ed; "
            f"this one is {Stage(locked.stage).label}.",
            field="stage",
        )
    return locked


def _notice(*, lead: Lead, subject: str, body: str, actor: AbstractBaseUser, meta: dict[str, Any]) -> Activity:
    return Activity.objects.create(
        lead=lead,
        kind=Activity.Kind.SYSTEM,
        occurred_at=timezone.now(),
        subject=subject[:300],
        body=body,
        actor=actor,
        meta=meta,
    )


@transaction.atomic
def lead_accept(*, lead: Lead, user: AbstractBaseUser, ip_address: str | None = None) -> Lead:
    """The owner takes the lead on: MQL -> SAL through the lifecycle, timed, so it stops counting as unworked."""
    locked = _owned_unaccepted_locked(lead=lead, user=user, verb="accept")
    lead_change_stage(
        lead=locked, to_stage=Stage.SAL, actor=user, reason=f"Accepted by {user.get_username()}", ip_address=ip_address
    )
    on_time = locked.sla_due_at is None or locked.accepted_at <= locked.sla_due_at
    # The accept SLA is met; from now on the clock is the first touch's (or none).
    rep = Rep.objects.filter(user_id=user.pk).first()
    locked.sla_due_at = sla_due(
        score=locked.score,
        at=locked.accepted_at,
        sla=_sla_rules(),
        kind=SLA_TOUCH,
        week=WorkWeek.of(rep) if rep else None,
    )
    locked.save(update_fields=["sla_due_at", "updated_at"])
    _notice(
        lead=locked,
        subject=f"Accepted by {user.get_username()}" + ("" if on_time else " (after the SLA)"),
        body="",
        actor=user,
        meta={"accepted": True, "on_time": on_time},
    )
    audit_record(
        actor=user,
        action="lead.accept",
        obj=locked,
        changes={"stage": [Stage.MQL, Stage.SAL], "accepted_at": [None, locked.accepted_at.isoformat()]},
        ip_address=ip_address,
    )
    lead.refresh_from_db()
    return lead


#: Where a rejected lead goes, in words for its timeline.
_REJECTION_OUTCOME = {
    Rejection.Reason.NOT_READY: "back to nurture",
    Rejection.Reason.JUNK: "marked junk",
    Rejection.Reason.DUPLICATE: "left unassigned for marketing to review as a duplicate",
    Rejection.Reason.WRONG_TERRITORY: "sent back through routing",
    Rejection.Reason.NOT_A_FIT: "sent back through routing",
}


@transaction.atomic
def lead_reject(
    *, lead: Lead, user: AbstractBaseUser, reason: str, note: str = "", ip_address: str | None = None
) -> Rejection:
    """The owner turns a lead down, saying why; the reason decides where it goes next.

    Every rejection unassigns the lead and is kept (with the lead's source) for marketing's reports.
    Not ready: to nurture. Junk: to junk. Duplicate: stays an unowned MQL for marketing to merge.
    Wrong territory or not a fit: routed again, to anyone but this rep (or overflow).
    """
    if reason not in Rejection.Reason.values:
        choices = ", ".join(Rejection.Reason.values)
        raise RoutingError(f"Pick a reason: one of {choices}.", field="reason")
    reason = Rejection.Reason(reason)
    note = note.strip()
    locked = _owned_unaccepted_locked(lead=lead, user=user, verb="reject")
    rep = Rep.objects.filter(user_id=user.pk).first()
    rejection = Rejection.objects.create(lead=locked, rep=rep, reason=reason, note=note, source_id=locked.source_id)
    why = f"Rejected by {user.get_username()}: {reason.label}" + (f" ({note})" if note else "")
    Lead.objects.filter(pk=locked.pk).update(owner=None, assigned_at=None, sla_due_at=None, updated_at=timezone.now())
    OverflowEntry.objects.filter(lead=locked).delete()
    _notice(
        lead=locked,
        subject=f"{why}: {_REJECTION_OUTCOME[reason]}",
        body=note,
        actor=user,
        meta={"rejection": reason.value, "rep": rep.pk if rep else None},
    )
    if reason == Rejection.Reason.NOT_READY:
        lead_change_stage(lead=locked, to_stage=Stage.NURTURE, actor=user, reason=why, ip_address=ip_address)
    elif reason == Rejection.Reason.JUNK:
        # The Rejection row is this move's reason record (routing's own list), so no disqualified reason is asked.
        lead_change_stage(
            lead=locked, to_stage=Stage.JUNK, actor=user, reason=why, reason_code_required=False, ip_address=ip_address
        )
    elif reason in (Rejection.Reason.WRONG_TERRITORY, Rejection.Reason.NOT_A_FIT):
        # The rejection above keeps this rep out of it (routing_exclusions).
        leads_route_batch(lead_ids=[locked.pk])
    audit_record(
        actor=user,
        action="lead.reject",
        obj=locked,
        changes={"owner": [user.pk, None], "reason": reason.value, "note": note},
        ip_address=ip_address,
    )
    lead.refresh_from_db()
    return rejection


# --- SLA sweep: lapsed leads are reassigned or escalated ---------------------------------------


@dataclass(frozen=True, slots=True)
class SlaSweepResult:
    """What one sweep did, by lead id."""

    reassigned: dict[int, int] = field(default_factory=dict)  # lead id -> the rep it went to
    escalated: tuple[int, ...] = ()
    met: tuple[int, ...] = ()  # touch SLA found met (a touch recorded before the clock was stopped)


def sla_sweep(*, now: datetime.datetime | None = None, batch_size: int = 200) -> SlaSweepResult:
    """Act on every lead whose SLA lapsed before ``now``, in batches of ``batch_size`` (one transaction each).

    A lead not accepted in time goes to another rep of its territory with room (never the one who let
    it lapse; the same rules and capacity as routing); when nobody has room, or its accept SLA already
    lapsed once, it is escalated instead: it stays with its rep, its clock stops, and the territory's
    manager is told. An accepted lead not touched in time is escalated the same way. Each lapse is a
    ``SlaBreach`` row, a line on the lead's timeline and a notification for the rep and the manager.
    Leads another worker holds are left for the next sweep.
    """
    now = now or timezone.now()
    reassigned: dict[int, int] = {}
    escalated: list[int] = []
    met: list[int] = []
    lapsed = Lead.objects.filter(
        sla_due_at__lt=now, owner__isnull=False, status=Lead.Status.ACTIVE, stage__in=[Stage.MQL, Stage.SAL]
    ).order_by("sla_due_at", "pk")
    after: tuple[datetime.datetime, int] | None = None
    while True:
        # Keyset over (due, id): a lead acted on has a new due time or none; one held elsewhere is passed.
        page = (
            lapsed
            if after is None
            else lapsed.filter(Q(sla_due_at__gt=after[0]) | Q(sla_due_at=after[0], pk__gt=after[1]))
        )
        rows = list(page.values_list("sla_due_at", "pk")[:batch_size])
        if not rows:
            break
        after = rows[-1]
        result = _sla_sweep_batch(lead_ids=[pk for _, pk in rows], now=now)
        reassigned.update(result.reassigned)
        escalated.extend(result.escalated)
        met.extend(result.met)
    return SlaSweepResult(reassigned=reassigned, escalated=tuple(escalated), met=tuple(met))


def _sla_kind(lead: Lead) -> str:
    return SLA_TOUCH if lead.accepted_at is not None else SLA_ACCEPT


@transaction.atomic
def _sla_sweep_batch(*, lead_ids: list[int], now: datetime.datetime) -> SlaSweepResult:
    locked = [
        lead
        for lead in _leads_locked(lead_ids, skip_locked=True)
        if lead.owner_id is not None
        and lead.status == Lead.Status.ACTIVE
        and lead.stage in (Stage.MQL, Stage.SAL)
        and lead.sla_due_at is not None
        and lead.sla_due_at < now
    ]
    if not locked:
        return SlaSweepResult()
    ids = [lead.pk for lead in locked]
    sla = _sla_rules()
    reps = {
        rep.user_id: rep
        for rep in Rep.objects.select_related("user").filter(user_id__in={le.owner_id for le in locked})
    }
    # A touch recorded before the clock was stopped on it (or by a path that does not stop it) still counts.
    touched = set(
        Activity.objects.filter(
            lead_id__in=ids, kind__in=TOUCH_KINDS, occurred_at__gte=F("lead__accepted_at")
        ).values_list("lead_id", flat=True)
    )
    met = [lead for lead in locked if _sla_kind(lead) == SLA_TOUCH and lead.pk in touched]
    Lead.objects.filter(pk__in=[lead.pk for lead in met]).update(sla_due_at=None)
    lapsed = [lead for lead in locked if lead not in met]
    if not lapsed:
        return SlaSweepResult(met=tuple(lead.pk for lead in met))

    territories = _territory_where_given(lapsed)
    lapsed_before = set(
        SlaBreach.objects.filter(lead_id__in=ids, kind=SlaBreach.Kind.ACCEPT).values_list("lead_id", flat=True)
    )
    # Remember who had each lead and by when, before routing moves it on.
    had = {lead.pk: (lead.owner_id, lead.sla_due_at, _sla_kind(lead), lead.stage) for lead in lapsed}
    words = {lead.pk: _lapse_words(lead=lead, rep=reps.get(lead.owner_id), sla=sla) for lead in lapsed}
    to_reassign = [lead for lead in lapsed if _sla_kind(lead) == SLA_ACCEPT and lead.pk not in lapsed_before]
    routed = RouteResult()
    if to_reassign:
        routed = _route_locked(
            to_reassign,
            now=now,
            waiting={},
            overflow=False,
            rule=Assignment.Rule.SLA_REASSIGN,
            preface={lead.pk: words[lead.pk] for lead in to_reassign},
            also_exclude={
                lead.pk: {reps[lead.owner_id].pk: "let its SLA lapse"} for lead in to_reassign if lead.owner_id in reps
            },
        )
    new_reps = {rep.pk: rep for rep in Rep.objects.select_related("user").filter(pk__in=set(routed.assigned.values()))}
    escalate = [lead for lead in lapsed if lead.pk not in routed.assigned]
    Lead.objects.filter(pk__in=[lead.pk for lead in escalate]).update(sla_due_at=None)

    breaches: list[SlaBreach] = []
    notices: list[Activity] = []
    notifications: list[Notification] = []
    admins = None
    for lead in lapsed:
        owner_id, due_at, kind, stage = had[lead.pk]
        rep = reps.get(owner_id)
        territory = territories.get(lead.pk)
        manager = territory.manager if territory and territory.manager_id else None
        name = str(lead) or f"Lead {lead.pk}"
        if lead.pk in routed.assigned:
            new_rep = new_reps[routed.assigned[lead.pk]]
            action, outcome = SlaBreach.Action.REASSIGNED, f"reassigned to {new_rep}"
            notifications.append(
                Notification(
                    user_id=new_rep.user_id,
                    kind=Notification.Kind.LEAD_ASSIGNED,
                    lead=lead,
                    title=f"{name} is yours: its SLA lapsed with {rep or 'its rep'}",
                    body=words[lead.pk],
                    created_at=now,
                )
            )
        else:
            new_rep = None
            if kind == SLA_TOUCH:
                why = "escalated (an accepted lead stays with its rep)"
            elif lead.pk in lapsed_before:
                why = "escalated (its SLA had lapsed once already)"
            else:
                why = f"escalated ({routed.why.get(lead.pk, 'nobody else had room')})"
            action, outcome = SlaBreach.Action.ESCALATED, why
        to = f" to {manager.get_full_name() or manager.get_username()}" if manager and action == "escalated" else ""
        summary = f"SLA lapsed: {words[lead.pk]} {outcome[:1].upper()}{outcome[1:]}{to}."
        breaches.append(
            SlaBreach(
                lead=lead,
                rep=rep,
                source_id=lead.source_id,
                territory=territory,
                stage=stage,
                kind=kind,
                score=lead.score,
                due_at=due_at,
                breached_at=now,
                action=action,
                reassigned_to=new_rep,
                escalated_to=manager if action == SlaBreach.Action.ESCALATED else None,
                note=summary,
            )
        )
        notices.append(
            Activity(
                lead=lead,
                kind=Activity.Kind.SYSTEM,
                occurred_at=now,
                subject=summary[:300],
                body=summary,
                meta={"sla_breach": kind, "action": action, "rep": rep.pk if rep else None},
            )
        )
        told = {owner_id}
        notifications.append(
            Notification(
                user_id=owner_id,
                kind=Notification.Kind.SLA_REASSIGNED if new_rep else Notification.Kind.SLA_ESCALATED,
                lead=lead,
                title=f"SLA lapsed on {name}: {outcome}"[:300],
                body=summary,
                created_at=now,
            )
        )
        if manager is not None:
            recipients = [manager.pk]
        elif action == SlaBreach.Action.ESCALATED:
            # No territory manager: the admins hear of it instead, so an escalation always reaches someone.
            admins = admins if admins is not None else _admin_user_ids()
            recipients = admins
        else:
            recipients = []
        for user_id in recipients:
            if user_id in told:
                continue
            told.add(user_id)
            notifications.append(
                Notification(
                    user_id=user_id,
                    kind=Notification.Kind.SLA_ESCALATED if action == "escalated" else Notification.Kind.SLA_REASSIGNED,
                    lead=lead,
                    title=f"SLA lapsed on {name} ({rep or 'no rep'}): {outcome}"[:300],
                    body=summary,
                    created_at=now,
                )
            )
    SlaBreach.objects.bulk_create(breaches)
    Activity.objects.bulk_create(notices)
    Notification.objects.bulk_create(notifications)
    return SlaSweepResult(
        reassigned=dict(routed.assigned),
        escalated=tuple(lead.pk for lead in escalate),
        met=tuple(lead.pk for lead in met),
    )


def _lapse_words(*, lead: Lead, rep: Rep | None, sla: Mapping[str, Any]) -> str:
    """E.g. "Rick did not accept it within 2 working hours (due 2026-11-20 10:30 UTC)."."""
    kind = _sla_kind(lead)
    hours = sla_hours(score=lead.score, sla=sla, kind=kind)
    verb = "call, meet or note it" if kind == SLA_TOUCH else "accept it"
    within = f" within {hours:g} working hours" if hours is not None else ""
    return f"{rep or 'Its rep'} did not {verb}{within} (due {lead.sla_due_at:%Y-%m-%d %H:%M} UTC)."


def _territory_where_given(leads: list[Lead]) -> dict[int, Territory | None]:
    """The territory each lead was given in (its latest assignment to a rep), else the one it matches now."""
    given: dict[int, int | None] = {}
    rows = Assignment.objects.filter(lead_id__in=[lead.pk for lead in leads], rep__isnull=False)
    for lead_id, territory_id in rows.order_by("lead_id", "-created_at", "-id").values_list("lead_id", "territory_id"):
        given.setdefault(lead_id, territory_id)
    territories = list(Territory.objects.select_related("manager"))
    by_id = {territory.pk: territory for territory in territories}
    found: dict[int, Territory | None] = {}
    for lead in leads:
        territory_id = given.get(lead.pk)
        if territory_id is not None and territory_id in by_id:
            found[lead.pk] = by_id[territory_id]
        else:
            found[lead.pk] = territory_for(lead_fields(lead=lead), territories)
    return found


def _admin_user_ids() -> list[int]:
    from django.contrib.auth import get_user_model

    from leads.roles import ADMIN

    return list(get_user_model().objects.filter(groups__name=ADMIN, is_active=True).values_list("pk", flat=True))


@transaction.atomic
def notifications_mark_read(*, user: AbstractBaseUser, ids: Iterable[int] | None = None) -> int:
    """Mark ``user``'s notifications read (``ids``, or all of them); returns how many changed."""
    rows = Notification.objects.filter(user=user, read_at__isnull=True)
    if ids is not None:
        rows = rows.filter(pk__in=list(ids))
    return rows.update(read_at=timezone.now())
