"""What publishing a draft would change, computed in the background from its rules at one moment.

Every open lead is scored under the draft's rules and put through the same stage rules publishing
applies (``scoring.qualify``): how many would become MQLs, how many unaccepted MQLs would fall back
to nurture, split by source and by territory, with a sample of each. Nothing is written to the leads.
The preview keeps a digest of the rules it looked at, so a page can tell when the draft has changed since.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterator, Mapping
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from leads.models import DefinitionPreview, Lead, LeadDefinition
from routing.matching import territory_for
from routing.models import Territory
from scoring.engine import mql_threshold, score_lead
from scoring.qualify import RESCORED_STAGES, lead_follows_score, stage_move
from scoring.rescore import CHUNK_LEAD_FIELDS
from scoring.services import lead_facts_bulk

#: Leads read (and activities queried) at a time.
PREVIEW_CHUNK_SIZE = 2000
#: Leads listed as examples of each kind of move.
SAMPLE_SIZE = 10
NO_TERRITORY = "No territory"
PREVIEW_LEAD_FIELDS = (*CHUNK_LEAD_FIELDS, "score")


def rules_digest(rules: Mapping[str, Any]) -> str:
    """SHA-256 of the rules as canonical JSON (sorted keys, no spaces): equal rules, equal digest."""
    canonical = json.dumps(rules, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def preview_is_current(preview: DefinitionPreview) -> bool:
    """Whether ``preview`` was computed from the rules its definition has now (it goes stale on an edit)."""
    return preview.rules_digest == rules_digest(preview.definition.rules)


@transaction.atomic
def definition_preview_start(*, definition: LeadDefinition, user: AbstractBaseUser | None) -> DefinitionPreview:
    """Record a preview of ``definition`` as it is now; a worker computes it once this transaction commits."""
    preview = DefinitionPreview.objects.create(
        definition=definition,
        rules_digest=rules_digest(definition.rules),
        created_by=user if user is not None and user.is_authenticated else None,
    )

    def send() -> None:
        from scoring.tasks import definition_preview_task

        definition_preview_task.delay(preview.pk)

    transaction.on_commit(send)
    return preview


def _open_leads_in_chunks(size: int) -> Iterator[list[Lead]]:
    """Open leads in id order, ``size`` at a time (keyset pages: no long transaction, no locks)."""
    leads = (
        Lead.objects.filter(status=Lead.Status.ACTIVE, stage__in=RESCORED_STAGES)
        .select_related("source", "account")
        .only(*PREVIEW_LEAD_FIELDS)
        .order_by("pk")
    )
    after = 0
    while True:
        chunk = list(leads.filter(pk__gt=after)[:size])
        if not chunk:
            return
        yield chunk
        after = chunk[-1].pk


def definition_preview_compute(*, preview: DefinitionPreview) -> DefinitionPreview:
    """Score every open lead under the preview's rules and count who would move into and out of MQL."""
    started = timezone.now()
    DefinitionPreview.objects.filter(pk=preview.pk).update(status=DefinitionPreview.Status.RUNNING, updated_at=started)
    definition = preview.definition
    rules = definition.rules
    territories = list(Territory.objects.filter(is_active=True).order_by("priority", "name"))
    counts = {"into": 0, "out": 0}
    by_source: dict[str, dict[str, int]] = defaultdict(lambda: {"into": 0, "out": 0})
    by_territory: dict[str, dict[str, int]] = defaultdict(lambda: {"into": 0, "out": 0})
    samples: dict[str, list[dict[str, Any]]] = {"into": [], "out": []}
    considered = 0
    for leads in _open_leads_in_chunks(PREVIEW_CHUNK_SIZE):
        facts = lead_facts_bulk(leads=leads)
        for lead in leads:
            considered += 1
            if not lead_follows_score(lead):
                continue
            lead_facts = facts[lead.pk]
            result = score_lead(lead_facts, rules, started)
            move = stage_move(
                stage=lead.stage,
                owner_id=lead.owner_id,
                accepted_at=lead.accepted_at,
                score=result.total,
                fields=lead_facts.fields,
                rules=rules,
                version=definition.version,
            )
            if move is None:
                continue
            way = "into" if move.into_mql else "out"
            counts[way] += 1
            by_source[lead_facts.fields["source"]][way] += 1
            territory = territory_for(lead_facts.fields, territories)
            by_territory[territory.name if territory else NO_TERRITORY][way] += 1
            if len(samples[way]) < SAMPLE_SIZE:
                samples[way].append(
                    {
                        "id": lead.pk,
                        "name": lead.full_name or lead.email,
                        "company": lead.company,
                        "score_before": lead.score,
                        "score_after": result.total,
                    }
                )
    result = {
        "into_mql": counts["into"],
        "out_of_mql": counts["out"],
        "by_source": dict(sorted(by_source.items())),
        "by_territory": dict(sorted(by_territory.items())),
        "sample_into": samples["into"],
        "sample_out": samples["out"],
        "mql_threshold": mql_threshold(rules),
        "computed_at": started.isoformat(),
    }
    now = timezone.now()
    DefinitionPreview.objects.filter(pk=preview.pk).update(
        status=DefinitionPreview.Status.DONE,
        result=result,
        leads_considered=considered,
        finished_at=now,
        updated_at=now,
        error="",
    )
    preview.refresh_from_db()
    return preview


def definition_preview_fail(*, preview_id: int, error: str) -> None:
    """Mark the preview failed, saying why (its task gave up)."""
    now = timezone.now()
    DefinitionPreview.objects.filter(pk=preview_id).update(
        status=DefinitionPreview.Status.FAILED, error=error[:2000], finished_at=now, updated_at=now
    )
