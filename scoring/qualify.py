"""The stage rules that follow a score: who becomes an MQL, who falls back to nurture, who stays put.

One set of rules for every place a score is stored (the pipeline's scoring step, one lead rescored
after an activity, the background rescore after a publish and the daily decay) and for the preview
of a draft, so what a preview counts is what publishing does:

- a new or nurtured lead at or above the MQL threshold, meeting every ``thresholds.must_have``
  condition, becomes an MQL;
- an MQL nobody has accepted (no owner, or an owner who has not accepted it) that falls below the
  threshold goes back to nurture, and an owner who never accepted it loses it;
- a lead a rep has accepted (SAL, SQL, opportunity, or an MQL whose owner accepted it) keeps its
  stage whatever the score: sales is not second-guessed by a number.

``stage_move`` decides for one lead from plain values (no ORM); ``leads_qualify`` applies it to
lead rows in memory and gives back the history and timeline rows for the caller to insert in bulk.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from leads.models import Activity, Lead, LeadDefinition, Stage, StageChange
from scoring.engine import LeadFacts, ScoreResult, mql_threshold, requirements_unmet

#: Stages whose leads are still open and so are rescored (junk, won and lost are left as they are).
RESCORED_STAGES = (Stage.NEW, Stage.NURTURE, Stage.MQL, Stage.SAL, Stage.SQL, Stage.OPPORTUNITY)
#: Stages in which a rep has accepted the lead: its score no longer moves it.
ACCEPTED_STAGES = frozenset({Stage.SAL, Stage.SQL, Stage.OPPORTUNITY})
#: Pipeline states after which a lead's stage follows its score; before them the pipeline's own
#: scoring step decides (a lead not yet screened may still be junk).
SCORED_STATES = (Lead.PipelineState.SCORED, Lead.PipelineState.ROUTED)


@dataclass(frozen=True, slots=True)
class StageMove:
    """A move the score calls for, with the reason in words."""

    from_stage: str
    to_stage: str
    reason: str
    #: The lead had an owner who never accepted it; they lose it with the move.
    release_owner: bool = False

    @property
    def into_mql(self) -> bool:
        return self.to_stage == Stage.MQL

    @property
    def out_of_mql(self) -> bool:
        return self.from_stage == Stage.MQL and self.to_stage != Stage.MQL


def stage_move(
    *,
    stage: str,
    owner_id: int | None,
    accepted_at: datetime.datetime | None,
    score: int,
    fields: Mapping[str, Any],
    rules: Mapping[str, Any],
    version: int | None,
) -> StageMove | None:
    """The move a lead in ``stage`` makes with this ``score`` under ``rules``, or ``None`` to stay."""
    threshold = mql_threshold(rules)
    under = f" (definition v{version})" if version is not None else ""
    if stage in (Stage.NEW, Stage.NURTURE):
        if score >= threshold and not requirements_unmet(rules, fields):
            return StageMove(stage, Stage.MQL, f"Score {score} reached the MQL threshold {threshold}{under}")
        return None
    if stage == Stage.MQL and score < threshold and (owner_id is None or accepted_at is None):
        return StageMove(
            Stage.MQL,
            Stage.NURTURE,
            f"Score {score} fell below the MQL threshold {threshold}{under}",
            release_owner=owner_id is not None,
        )
    return None


def lead_follows_score(lead: Lead) -> bool:
    """Whether a stored score may move ``lead``'s stage now (active, open, through the pipeline's scoring)."""
    return lead.status == Lead.Status.ACTIVE and lead.stage in RESCORED_STAGES and lead.pipeline_state in SCORED_STATES


@dataclass(slots=True)
class Qualification:
    """What applying the stage rules to a batch of leads did, and the rows left to insert."""

    #: Leads whose stage changed in memory.
    moved: list[Lead] = field(default_factory=list)
    #: Of those, the ones taken back from an owner who had not accepted them (owner, assignment, SLA cleared).
    released: list[Lead] = field(default_factory=list)
    changes: list[StageChange] = field(default_factory=list)
    #: Timeline notices for leads taken back from an owner who had not accepted them.
    notices: list[Activity] = field(default_factory=list)
    became_mql: int = 0
    fell_below_mql: int = 0


#: The lead columns a move changes: ``stage`` (with when, and no recycle date) for every moved lead,
#: the rest for released ones.
MOVE_FIELDS = ("stage", "stage_changed_at", "revisit_on")
RELEASE_FIELDS = ("owner", "assigned_at", "sla_due_at")


def leads_qualify(
    leads: Sequence[Lead],
    results: Sequence[ScoreResult],
    facts: Sequence[LeadFacts],
    *,
    definition: LeadDefinition,
    now: datetime.datetime,
) -> Qualification:
    """Apply the stage rules to ``leads`` (just scored as ``results``), changing them in memory only.

    The caller writes ``moved`` and inserts ``changes`` and ``notices``, in bulk, in its transaction.
    """
    done = Qualification()
    for lead, result, lead_facts in zip(leads, results, facts, strict=True):
        move = stage_move(
            stage=lead.stage,
            owner_id=lead.owner_id,
            accepted_at=lead.accepted_at,
            score=result.total,
            fields=lead_facts.fields,
            rules=definition.rules,
            version=definition.version,
        )
        if move is None:
            continue
        done.changes.append(
            StageChange(lead=lead, from_stage=move.from_stage, to_stage=move.to_stage, reason=move.reason)
        )
        lead.stage = move.to_stage
        lead.stage_changed_at = now
        lead.revisit_on = None
        if move.into_mql:
            done.became_mql += 1
        else:
            done.fell_below_mql += 1
        if move.release_owner:
            done.notices.append(
                Activity(
                    lead=lead,
                    kind=Activity.Kind.SYSTEM,
                    occurred_at=now,
                    subject=f"{move.reason}: back to nurture, no longer assigned",
                    body="It was assigned to a rep who had not accepted it, so it goes back to marketing.",
                    meta={"previous_owner": lead.owner_id},
                )
            )
            lead.owner = None
            lead.assigned_at = None
            lead.sla_due_at = None
            done.released.append(lead)
        done.moved.append(lead)
    return done
