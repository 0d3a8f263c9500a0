"""Celery tasks for routing: thin wrappers, ids in, one service call; retries live here.

All are safe to run twice and side by side: routing skips leads already owned or waiting in
overflow, the drain and the SLA sweep skip leads another worker holds, and a lapse acted on has its
clock moved on (or stopped) in the same transaction.
"""

from __future__ import annotations

from celery import shared_task

from leads.tasks import RETRY


@shared_task(**RETRY)
def leads_route_batch_task(self, lead_ids: list[int]) -> dict[str, int]:
    """Route the unowned MQLs among ``lead_ids``; returns how many went to each rule."""
    from routing.services import leads_route_batch

    return leads_route_batch(lead_ids=lead_ids).by_rule


@shared_task(**RETRY)
def overflow_drain_task(self, territory_id: int | None = None) -> int:
    """Give waiting leads to reps who have room now (beat runs it every minute); returns how many."""
    from routing.models import Territory
    from routing.services import overflow_drain

    territory = Territory.objects.filter(pk=territory_id).first() if territory_id is not None else None
    if territory_id is not None and territory is None:
        return 0
    return overflow_drain(territory=territory)


@shared_task(**RETRY)
def sla_sweep_task(self) -> dict[str, int]:
    """Reassign or escalate every lead whose SLA lapsed (beat runs it every minute); returns the counts."""
    from routing.services import sla_sweep

    result = sla_sweep()
    return {"reassigned": len(result.reassigned), "escalated": len(result.escalated), "met": len(result.met)}
