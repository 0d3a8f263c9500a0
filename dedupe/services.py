"""Duplicate operations: keys kept up to date, matching in the pipeline, merge, undo, "not a duplicate".

Keyword-only functions named ``<entity>_<action>``. Matching itself lives in ``dedupe.matching``;
the comparison in ``dedupe.compare`` and the keys in ``dedupe.keys`` are pure.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.serializers.json import DjangoJSONEncoder
from django.db import DatabaseError, IntegrityError, connection, models, transaction
from django.db.models import Q
from django.utils import timezone

from dedupe.keys import lead_keys
from dedupe.matching import Outcome, Ref, keys_lock, lock_keys, lookup_keys, match_batch, record_of
from dedupe.models import DuplicateCandidate, MatchKey, Merge
from leadflow.db import bulk_insert_rows, bulk_update_rows, instances_like, json_in
from leads.models import Activity, Lead, LeadDefinition, SourceRecord, StageChange, Submission
from leads.services import audit_record, audit_record_many

#: Fields merged by survivorship: the survivor takes, per field, the value the policy prefers.
MERGE_FIELDS = (
    "first_name", "last_name", "email", "phone", "title", "seniority", "job_function", "company", "company_domain",
    "website", "industry", "employees", "street", "city", "state", "postal_code", "country",
)  # fmt: skip
#: Fields the survivor takes from the merged lead only when it has none.
FILL_FIELDS = ("account", "contact", "campaign")
#: Rows that belong to a lead and move with a merge.
MOVED_MODELS: dict[str, type[models.Model]] = {
    "activity": Activity,
    "source_record": SourceRecord,
    "submission": Submission,
    "stage_change": StageChange,
}
POLICIES = ("recent", "trust")


class MergeError(Exception):
    """A merge or undo that is not allowed; the message says why."""


def survivorship_policy(name: str) -> str:
    """``recent`` (the most recent non-empty value) or ``trust`` (the most trusted source's), per field."""
    configured = getattr(settings, "DEDUPE_SURVIVORSHIP", "recent")
    if isinstance(configured, Mapping):
        return configured.get(name, configured.get("*", "recent"))
    return configured


def _empty(value: Any) -> bool:
    return value is None or value == ""


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


_PLAIN = (str, int, float, bool, type(None))
_ENCODER = DjangoJSONEncoder()


def lead_snapshot(lead: Lead, names: Iterable[str] | None = None) -> dict[str, Any]:
    """Every column of ``lead`` (or those of ``names``, attribute names) as JSON, to put back exactly."""
    fields = _SNAPSHOT_FIELDS if names is None else [_SNAPSHOT_BY_ATTNAME[name] for name in names]
    return {f.attname: _snapshot_value(f, f.value_from_object(lead)) for f in fields}


def _snapshot_value(f: models.Field, value: Any) -> Any:
    """Plain values go as they are and JSON columns as stored (they are JSON already); only dates,
    decimals and the like go through the encoder: an import chunk merges hundreds of leads."""
    if not isinstance(value, _PLAIN) and not isinstance(f, models.JSONField):
        return _ENCODER.default(value)
    return value


_SNAPSHOT_FIELDS = [f for f in Lead._meta.concrete_fields if not f.primary_key]
_SNAPSHOT_BY_ATTNAME = {f.attname: f for f in _SNAPSHOT_FIELDS}
#: A survivor's columns a merge reads: unchanged since they were read, the merge worked out holds.
_MERGE_READS = (
    *MERGE_FIELDS, *(f"{name}_id" for name in FILL_FIELDS), "last_activity_at", "status", "merged_into_id", "owner_id",
    "source_id", "created_at", "updated_at",
)  # fmt: skip
#: The merged lead's columns a merge changes: all that undo has to put back on it.
_MERGED_COLUMNS = ("status", "merged_into_id", "owner_id", "pipeline_state", "updated_at")


def _restore_values(snapshot: Mapping[str, Any], names: Iterable[str] | None = None) -> dict[str, Any]:
    fields = {f.attname: f for f in Lead._meta.concrete_fields}
    return {name: fields[name].to_python(snapshot[name]) for name in (names or snapshot) if name in fields}


# --- Keys ---------------------------------------------------------------------------------------


def _keys_insert(rows: Iterable[tuple[int, str, str]]) -> None:
    """Insert ``(lead id, kind, value)`` keys: on PostgreSQL one ``COPY`` of plain tuples (a chunk has
    thousands, and model instances cost more than the rest of their insert)."""
    if connection.vendor != "postgresql":
        MatchKey.objects.bulk_create([MatchKey(lead_id=lead_id, kind=k, value=v) for lead_id, k, v in rows])
        return
    sql = f"COPY {MatchKey._meta.db_table} (lead_id, kind, value) FROM STDIN"
    with connection.cursor() as cursor, connection.wrap_database_errors, cursor.cursor.copy(sql) as copy:
        for row in rows:
            copy.write_row(row)


def match_keys_replace(*, leads: Sequence[Lead], keys: Sequence[set[tuple[str, str]]] | None = None) -> None:
    """Make each lead's blocking keys those of its fields now (after its identifying fields changed)."""
    if not leads:
        return
    keys = keys if keys is not None else [lead_keys(record_of(lead)) for lead in leads]
    MatchKey.objects.filter(lead_id__in=[lead.pk for lead in leads]).delete()
    _keys_insert((lead.pk, kind, value) for lead, own in zip(leads, keys, strict=True) for kind, value in sorted(own))


def lead_keys_refresh(*, lead: Lead, before: Mapping[str, Any]) -> bool:
    """Keep ``lead``'s blocking keys true after an edit (``before``: the edited fields' old values).

    The keys its old values made go, those of its new values come; keys it gained from a merge stay.
    Once the transaction commits the lead is checked for duplicates again (``lead_duplicates_recheck``).
    Every edit path calls this: ``leads.services.lead_update`` (lead page, API) and the admin.
    Returns whether a field the keys are made of changed.
    """
    record = record_of(lead)
    changed = {name for name in before if name in record and before[name] != record[name]}
    if not changed or lead.status != Lead.Status.ACTIVE:
        return False
    gone = lead_keys(record | {name: before[name] for name in changed}) - lead_keys(record)
    if gone:
        condition = models.Q()
        for kind, value in gone:
            condition |= models.Q(kind=kind, value=value)
        MatchKey.objects.filter(condition, lead_id=lead.pk).delete()
    match_keys_add([lead])
    if lead.pipeline_state not in (Lead.PipelineState.RECEIVED, Lead.PipelineState.NORMALIZED):
        # Not yet matched: the pipeline's match step will see the new values anyway.
        from dedupe.tasks import lead_recheck_task

        lead_id = lead.pk
        transaction.on_commit(lambda: lead_recheck_task.delay(lead_id))
    return True


def match_keys_add(leads: Sequence[Lead]) -> dict[int, list[int]]:
    """Add the keys of each lead's fields it lacks (a survivor keeps the keys of what it was): {lead id: key ids}."""
    added: dict[int, list[int]] = defaultdict(list)
    if connection.vendor == "postgresql":
        # One statement, the unique (lead, kind, value) index telling which keys are there already.
        rows = [[lead.pk, k, v] for lead in leads for k, v in sorted(lead_keys(record_of(lead)))]
        if not rows:
            return added
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {MatchKey._meta.db_table} (lead_id, kind, value) SELECT (e->>0)::bigint, e->>1, e->>2 "
                "FROM json_array_elements(%s::json) AS e ON CONFLICT (lead_id, kind, value) DO NOTHING "
                "RETURNING id, lead_id",
                [json.dumps(rows)],
            )
            for key_id, lead_id in sorted(cursor.fetchall()):
                added[lead_id].append(key_id)
        return added
    have: dict[int, set[tuple[str, str]]] = defaultdict(set)
    for lead_id, kind, value in MatchKey.objects.filter(lead_id__in=[lead.pk for lead in leads]).values_list(
        "lead_id", "kind", "value"
    ):
        have[lead_id].add((kind, value))
    new = [
        MatchKey(lead_id=lead.pk, kind=k, value=v)
        for lead in leads
        for k, v in sorted(lead_keys(record_of(lead)) - have[lead.pk])
    ]
    bulk_insert_rows(new)
    for key in new:
        added[key.lead_id].append(key.pk)
    return added


def _rows_move(model: type[models.Model], moves: Mapping[int, int]) -> dict[int, list[Any]]:
    """Give ``model``'s rows of each merged lead to its survivor (``moves``: {merged id: survivor id}).

    Returns {merged id: [pks of the rows moved]}. On PostgreSQL two statements whatever the number of
    leads: one finds the rows through the ``lead_id`` index, one moves them by primary key.
    """
    moved: dict[int, list[Any]] = defaultdict(list)
    if not moves:
        return moved
    if connection.vendor != "postgresql":
        for pk, lead_id in model.objects.filter(lead_id__in=list(moves)).values_list("pk", "lead_id"):
            moved[lead_id].append(pk)
        for merged_id, survivor_id in moves.items():
            model.objects.filter(pk__in=moved[merged_id]).update(lead_id=survivor_id)
        return moved
    table, pk = model._meta.db_table, model._meta.pk.column
    with connection.cursor() as cursor:
        # Each lead's rows through the lead_id index: the LIMIT keeps the planner from turning the
        # look-ups into a scan of the whole table (which it does for a join, whatever the statistics).
        cursor.execute(
            f"SELECT r.{pk}, m.merged FROM (SELECT e::bigint AS merged FROM json_array_elements_text(%s::json) AS e)"
            f" AS m CROSS JOIN LATERAL (SELECT {pk} FROM {table} WHERE lead_id = m.merged LIMIT 100000) AS r",
            [json.dumps(sorted(moves))],
        )
        rows = sorted(cursor.fetchall())
        for row_id, merged_id in rows:
            moved[merged_id].append(row_id)
        if rows:
            # One JSON parameter (psycopg would quote thousands of parameters one by one); the
            # planner's guess of a hundred rows has it update by primary key.
            cast = model._meta.pk.db_type(connection)
            cursor.execute(
                f"UPDATE {table} AS t SET lead_id = v.survivor FROM (SELECT (e->>0)::{cast} AS id, "
                f"(e->>1)::bigint AS survivor FROM json_array_elements(%s::json) AS e) AS v WHERE t.{pk} = v.id",
                [json.dumps([[str(row_id), moves[merged_id]] for row_id, merged_id in rows])],
            )
    return moved


# --- Review candidates -----------------------------------------------------------------------


def candidates_record(*, pairs: Iterable[tuple[int, int, float, list[str]]]) -> int:
    """Put pairs in the review queue; a pair seen before keeps its status (a dismissed one stays dismissed).

    Returns how many pairs are new in the queue."""
    rows = {}
    for a, b, score, reasons in pairs:
        if a == b:
            continue
        low, high = min(a, b), max(a, b)
        rows[(low, high)] = DuplicateCandidate(lead_a_id=low, lead_b_id=high, score=score, reasons=reasons)
    if not rows:
        return 0
    known = set(
        DuplicateCandidate.objects.filter(lead_a_id__in={low for low, _ in rows}).values_list("lead_a_id", "lead_b_id")
    )
    DuplicateCandidate.objects.bulk_create(
        [row for pair, row in rows.items() if pair not in known], ignore_conflicts=True
    )
    return len(rows.keys() - known)


@transaction.atomic
def candidate_dismiss(*, candidate: DuplicateCandidate, actor: AbstractBaseUser | None) -> DuplicateCandidate:
    """ "Not a duplicate": remembered for good, never proposed or merged again."""
    candidate = DuplicateCandidate.objects.select_for_update().get(pk=candidate.pk)
    if candidate.status == DuplicateCandidate.Status.MERGED:
        raise MergeError("This pair was merged; undo the merge instead.")
    candidate.status = DuplicateCandidate.Status.DISMISSED
    candidate.decided_by = actor if actor is not None and actor.is_authenticated else None
    candidate.decided_at = timezone.now()
    candidate.save(update_fields=["status", "decided_by", "decided_at", "updated_at"])
    audit_record(
        actor=actor,
        action="duplicate.dismissed",
        obj=candidate,
        changes={"leads": [candidate.lead_a_id, candidate.lead_b_id]},
    )
    return candidate


def pair_dismiss(*, lead_a: Lead, lead_b: Lead, actor: AbstractBaseUser | None) -> DuplicateCandidate:
    """Remember that two leads are not one person (making the pair if matching never proposed it)."""
    low, high = sorted([lead_a.pk, lead_b.pk])
    candidate, _ = DuplicateCandidate.objects.get_or_create(lead_a_id=low, lead_b_id=high, defaults={"score": 0.0})
    return candidate_dismiss(candidate=candidate, actor=actor)


# --- Merge -----------------------------------------------------------------------------------


@dataclass(slots=True)
class MergeRequest:
    survivor_id: int
    merged: Lead
    score: float | None = None
    reasons: list[str] = field(default_factory=list)
    #: {field: "survivor" | "merged"}: a person's choice, over the policy.
    choices: dict[str, str] = field(default_factory=dict)


def _take_merged(name: str, survivor: Lead, merged: Lead, choice: str | None) -> bool:
    mine, theirs = getattr(survivor, name), getattr(merged, name)
    if choice in ("survivor", "merged"):
        return choice == "merged"
    if _empty(theirs):
        return False
    if _empty(mine):
        return True
    if survivorship_policy(name) == "trust":
        trust_mine, trust_theirs = survivor.source.trust, merged.source.trust
        if trust_mine != trust_theirs:
            return trust_theirs > trust_mine
    return (merged.created_at, merged.pk) > (survivor.created_at, survivor.pk)


def merge_defaults(*, survivor: Lead, merged: Lead) -> dict[str, str]:
    """Per merged field, whose value survivorship keeps when nobody chooses: ``"survivor"`` or ``"merged"``."""
    return {name: "merged" if _take_merged(name, survivor, merged, None) else "survivor" for name in MERGE_FIELDS}


@dataclass(slots=True)
class _MergeStep:
    """One merge worked out in memory: written by ``_merges_write`` (once the merged lead has its id)."""

    request: MergeRequest
    survivor: Lead
    merged: Lead
    snapshot: dict[str, Any]
    field_sources: dict[str, int]
    changed: dict[str, Any]


def _merges_plan(requests: Sequence[MergeRequest], survivors: Mapping[int, Lead], merged: Sequence[Lead | None],
                 now: Any) -> list[_MergeStep]:  # fmt: skip
    """Work out each merge in memory: the survivor takes, per field, the value survivorship (or the
    person) prefers; the merged lead is marked merged. Raises ``MergeError`` before anything is written."""
    steps = []
    for request, lead in zip(requests, merged, strict=True):
        survivor = survivors.get(request.survivor_id)
        if survivor is None or lead is None:
            raise MergeError("Both leads must exist.")
        if survivor.status != Lead.Status.ACTIVE or lead.status != Lead.Status.ACTIVE:
            raise MergeError("Only active leads can be merged.")
        # What undo needs to put both back: the merged lead's columns a merge sets, and the
        # survivor's columns this merge changes (their values before it).
        snapshot = {"survivor": {}, "merged": lead_snapshot(lead, _MERGED_COLUMNS)}
        field_sources: dict[str, int] = {}
        changed: dict[str, Any] = {}
        for name in MERGE_FIELDS:
            take = _take_merged(name, survivor, lead, request.choices.get(name))
            field_sources[name] = -1 if take else survivor.pk  # -1: the merged lead, whose id may come later
            if take and getattr(survivor, name) != getattr(lead, name):
                changed[name] = _jsonable(getattr(lead, name))
        for name in FILL_FIELDS:
            attname = f"{name}_id"
            if getattr(survivor, attname) is None and getattr(lead, attname) is not None:
                changed[attname] = getattr(lead, attname)
                field_sources[name] = -1
        if lead.last_activity_at and (
            survivor.last_activity_at is None or lead.last_activity_at > survivor.last_activity_at
        ):
            changed["last_activity_at"] = _jsonable(lead.last_activity_at)
        snapshot["survivor"] = lead_snapshot(survivor, changed)
        for attname in changed:
            setattr(survivor, attname, getattr(lead, attname))
        survivor.updated_at = now
        lead.status, lead.merged_into_id, lead.owner_id = Lead.Status.MERGED, survivor.pk, None
        lead.pipeline_state, lead.updated_at = Lead.PipelineState.ROUTED, now
        steps.append(_MergeStep(request, survivor, lead, snapshot, field_sources, changed))
    return steps


def _merges_write(
    steps: Sequence[_MergeStep], *, actor: AbstractBaseUser | None, automatic: bool, now: Any
) -> list[Merge]:
    """Write merges worked out by ``_merges_plan`` whose merged leads are stored (marked merged already):
    their rows move to the survivors, the survivors' changed columns, notices, keys, the ``Merge``
    records (for undo), review pairs decided, audit events. One statement per table, not per lead."""
    actor = actor if actor is not None and actor.is_authenticated else None
    # Copies of one template each (an import chunk merges hundreds of rows; Model.__init__ is slow).
    notices = instances_like(Activity(kind=Activity.Kind.SYSTEM, occurred_at=now, actor=actor), len(steps))
    merges = instances_like(Merge(automatic=automatic, actor=actor), len(steps))
    audits = []
    for step, notice, merge in zip(steps, notices, merges, strict=True):
        survivor, merged, changed = step.survivor, step.merged, step.changed
        label = f"{merged.first_name} {merged.last_name}".strip() or merged.email
        notice.lead_id = survivor.pk
        notice.subject = f"Merged with {label or 'lead'} (lead #{merged.pk})"[:300]
        notice.body = "Took from it: " + (", ".join(sorted(changed)) or "nothing (this lead's values were kept)")
        notice.meta = {"merged_lead": merged.pk, "automatic": automatic, "notify": survivor.owner_id}
        merge.survivor_id, merge.merged_id = survivor.pk, merged.pk
        merge.score, merge.reasons, merge.snapshot, merge.changed = (
            step.request.score, step.request.reasons, step.snapshot, changed,
        )  # fmt: skip
        merge.moved = {}
        merge.field_sources = {k: merged.pk if v == -1 else v for k, v in step.field_sources.items()}
        before = step.snapshot["survivor"]
        audits.append(
            (survivor, {"merged_lead": [None, merged.pk], **{k: [before.get(k), v] for k, v in changed.items()}})
        )
    # The rows move: one statement per table, each reporting what it moved (for undo).
    moves = {merge.merged_id: merge.survivor_id for merge in merges}
    for table, model in MOVED_MODELS.items():
        rows = _rows_move(model, moves)
        for merge in merges:
            merge.moved[table] = _jsonable(rows.get(merge.merged_id, []))
    # Only the columns some merge here changed (the survivors were read locked, so the rest hold as read).
    survivors = {step.survivor.pk: step.survivor for step in steps}
    touched = {name for merge in merges for name in merge.changed}
    columns = [
        name for name in (*MERGE_FIELDS, *FILL_FIELDS, "last_activity_at") if name in touched or f"{name}_id" in touched
    ]
    bulk_update_rows(list(survivors.values()), [*columns, "updated_at"])
    bulk_insert_rows(notices)
    for merge, notice in zip(merges, notices, strict=True):
        merge.moved["notice"] = [notice.pk]
    added = match_keys_add([survivors[pk] for pk in sorted(survivors)])
    for merge in merges:  # the keys a survivor gained go with its first merge here, for undo
        merge.moved["match_key"] = added.pop(merge.survivor_id, [])
    lows = {min(m.survivor_id, m.merged_id) for m in merges}
    wanted = {(min(m.survivor_id, m.merged_id), max(m.survivor_id, m.merged_id)) for m in merges}
    reviewed = [
        pk
        for pk, a, b in DuplicateCandidate.objects.filter(lead_a_id__in=json_in(lows, cast="bigint")).values_list(
            "pk", "lead_a_id", "lead_b_id"
        )
        if (a, b) in wanted
    ]
    if reviewed:
        DuplicateCandidate.objects.filter(pk__in=reviewed).update(
            status=DuplicateCandidate.Status.MERGED, decided_at=now, updated_at=now, decided_by=actor
        )
    _pairs_repoint(merges, now=now)
    bulk_insert_rows(merges)
    audit_record_many(actor=actor, action="lead.merged", changes=audits)
    return merges


def _pairs_repoint(merges: Sequence[Merge], *, now: Any) -> None:
    """The open review pairs of each merged lead become its survivor's, so they stay in the queue.

    A pair that would pair the survivor with itself, or repeat a pair the survivor already has (open,
    merged or dismissed: "not a duplicate" holds), is dropped instead. Each merge keeps what it did in
    ``moved`` (``pair``: [id, lead_a, lead_b before]; ``pair_dropped``: the rows), for ``merge_undo``.
    One query finds the pairs, whatever the number of merges; a merged lead rarely has an open pair, so
    re-pointing goes row by row (each in a savepoint, so a pair queued by a concurrent worker only drops it).
    """
    survivor_of = {m.merged_id: m.survivor_id for m in merges}
    merge_of = {m.merged_id: m for m in merges}
    for merge in merges:
        merge.moved["pair"], merge.moved["pair_dropped"] = [], []
    pairs = list(
        DuplicateCandidate.objects.filter(
            Q(lead_a_id__in=json_in(survivor_of, cast="bigint")) | Q(lead_b_id__in=json_in(survivor_of, cast="bigint")),
            status=DuplicateCandidate.Status.OPEN,
        ).order_by("pk")
    )
    if not pairs:
        return
    targets = {}
    for pair in pairs:
        a, b = (survivor_of.get(pair.lead_a_id, pair.lead_a_id), survivor_of.get(pair.lead_b_id, pair.lead_b_id))
        targets[pair.pk] = (min(a, b), max(a, b))
    taken = set(
        DuplicateCandidate.objects.filter(lead_a_id__in={low for low, _ in targets.values()})
        .exclude(pk__in=[pair.pk for pair in pairs])
        .values_list("lead_a_id", "lead_b_id")
    )
    repointed: list[tuple[DuplicateCandidate, Merge]] = []
    dropped: list[tuple[DuplicateCandidate, Merge]] = []
    for pair in pairs:
        merge = merge_of.get(pair.lead_a_id) or merge_of[pair.lead_b_id]
        low, high = targets[pair.pk]
        if low == high or (low, high) in taken:
            dropped.append((pair, merge))
        else:
            taken.add((low, high))
            repointed.append((pair, merge))
    for pair, merge in repointed:
        low, high = targets[pair.pk]
        try:
            # A pair another worker queued for the survivor meanwhile wins: this one is dropped then.
            with transaction.atomic():
                DuplicateCandidate.objects.filter(pk=pair.pk).update(lead_a_id=low, lead_b_id=high, updated_at=now)
        except IntegrityError:
            dropped.append((pair, merge))
        else:
            merge.moved["pair"].append([pair.pk, pair.lead_a_id, pair.lead_b_id])
    for pair, merge in dropped:
        merge.moved["pair_dropped"].append(
            {
                "id": pair.pk,
                "lead_a": pair.lead_a_id,
                "lead_b": pair.lead_b_id,
                "score": pair.score,
                "reasons": pair.reasons,
                "created_at": pair.created_at.isoformat(),
            }
        )
    if dropped:
        DuplicateCandidate.objects.filter(pk__in=[pair.pk for pair, _ in dropped]).delete()


def _pairs_restore(merge: Merge) -> None:
    """Undo ``_pairs_repoint`` for ``merge``: re-pointed pairs still open go back to the merged lead, dropped
    ones come back. A pair decided since stays as decided, on the survivor."""
    pairs = {pk: (a, b) for pk, a, b in merge.moved.get("pair", [])}
    dropped = merge.moved.get("pair_dropped", [])
    if not pairs and not dropped:
        return
    wanted = set(pairs.values()) | {(row["lead_a"], row["lead_b"]) for row in dropped}
    taken = set(
        DuplicateCandidate.objects.filter(lead_a_id__in={a for a, _ in wanted}).values_list("lead_a_id", "lead_b_id")
    )
    back, now = [], timezone.now()
    for pair in DuplicateCandidate.objects.filter(pk__in=list(pairs), status=DuplicateCandidate.Status.OPEN):
        if pairs[pair.pk] not in taken:
            (pair.lead_a_id, pair.lead_b_id), pair.updated_at = pairs[pair.pk], now
            back.append(pair)
    if back:
        DuplicateCandidate.objects.bulk_update(back, ["lead_a", "lead_b", "updated_at"])
    restored = [row for row in dropped if (row["lead_a"], row["lead_b"]) not in taken]
    DuplicateCandidate.objects.bulk_create(
        [
            DuplicateCandidate(
                pk=row["id"],
                lead_a_id=row["lead_a"],
                lead_b_id=row["lead_b"],
                score=row["score"],
                reasons=row["reasons"],
            )
            for row in restored
        ],
        ignore_conflicts=True,
    )
    for row in restored:  # created_at is set on insert: put back when the pair was first proposed
        DuplicateCandidate.objects.filter(pk=row["id"]).update(created_at=row["created_at"])


def _leads_by_id(ids: Iterable[int], *, lock: bool = True, fields: Sequence[str] = ()) -> dict[int, Lead]:
    """{id: lead} with its source, row-locked in id order unless ``lock`` is false; only ``fields`` when given."""
    leads = Lead.objects.select_related("source").filter(pk__in=json_in(set(ids), cast="bigint")).order_by("pk")
    if fields:
        leads = leads.only(*fields, "source__trust")
    return {lead.pk: lead for lead in (leads.select_for_update(of=("self",)) if lock else leads)}


def leads_merge_many(
    *, requests: Sequence[MergeRequest], actor: AbstractBaseUser | None = None, automatic: bool = False
) -> list[Merge]:
    """Merge each request's lead into its survivor, in bulk: one statement per table, not per lead.

    Per field the survivor takes the value survivorship prefers; activities, source records, raw
    submissions and stage changes move to it; its owner stays. The merged lead keeps its fields,
    is marked merged (its pipeline finished, its owner cleared), and stays findable.
    """
    if not requests:
        return []
    now = timezone.now()
    survivor_ids = {r.survivor_id for r in requests}
    merged_ids = [r.merged.pk for r in requests]
    if survivor_ids & set(merged_ids) or len(set(merged_ids)) != len(merged_ids):
        raise MergeError("A lead cannot be merged and survive in the same step.")
    survivors = _leads_by_id(survivor_ids)
    merged = _leads_by_id(merged_ids)
    steps = _merges_plan(requests, survivors, [merged.get(pk) for pk in merged_ids], now)
    bulk_update_rows(list(merged.values()), ["status", "merged_into", "owner", "pipeline_state", "updated_at"])
    return _merges_write(steps, actor=actor, automatic=automatic, now=now)


def lead_merge(
    *,
    survivor: Lead,
    merged: Lead,
    actor: AbstractBaseUser | None,
    choices: Mapping[str, str] | None = None,
    score: float | None = None,
    reasons: Sequence[str] = (),
) -> Merge:
    """Merge ``merged`` into ``survivor`` (see ``leads_merge_many``); ``choices`` pick fields by hand."""
    if survivor.pk == merged.pk:
        raise MergeError("A lead cannot be merged with itself.")
    unknown = set(choices or {}) - set(MERGE_FIELDS)
    if unknown:
        raise MergeError(f"These fields are not merged: {', '.join(sorted(unknown))}.")
    with transaction.atomic():
        return leads_merge_many(
            requests=[MergeRequest(survivor.pk, merged, score, list(reasons), dict(choices or {}))], actor=actor
        )[0]


@transaction.atomic
def merge_undo(*, merge: Merge, actor: AbstractBaseUser | None, reopen: bool = False) -> Merge:
    """Put both leads back as they were: every moved row back, the merged lead's every field, and the
    survivor's fields the merge changed (unless changed again since). The pair is remembered as not
    a duplicate, so matching does not merge it again; with ``reopen`` (a reviewer taking back the merge
    they just made) it goes back to the review queue instead, undecided."""
    merge = Merge.objects.select_for_update().get(pk=merge.pk)
    if merge.undone_at is not None:
        raise MergeError("This merge was undone already.")
    survivor = Lead.objects.select_for_update().get(pk=merge.survivor_id)
    merged = Lead.objects.select_for_update().get(pk=merge.merged_id)
    if merged.merged_into_id != survivor.pk or survivor.status != Lead.Status.ACTIVE:
        raise MergeError("The survivor was merged again since; undo that merge first.")
    for table, model in MOVED_MODELS.items():
        model.objects.filter(pk__in=merge.moved.get(table, []), lead_id=survivor.pk).update(lead_id=merged.pk)
    Activity.objects.filter(pk__in=merge.moved.get("notice", [])).delete()
    MatchKey.objects.filter(pk__in=merge.moved.get("match_key", [])).delete()
    _pairs_restore(merge)
    Lead.objects.filter(pk=merged.pk).update(**_restore_values(merge.snapshot["merged"]))
    current = lead_snapshot(survivor, [name for name in merge.changed if name in _SNAPSHOT_BY_ATTNAME])
    back = [name for name, value in merge.changed.items() if current.get(name) == value]
    if back:
        Lead.objects.filter(pk=survivor.pk).update(**_restore_values(merge.snapshot["survivor"], back))
    # Both leads' keys cover their fields as they are now (an edit since the merge may have moved some).
    match_keys_add(list(Lead.objects.filter(pk__in=[survivor.pk, merged.pk]).order_by("pk")))
    now = timezone.now()
    merge.undone_at, merge.undone_by = now, actor if actor is not None and actor.is_authenticated else None
    merge.save(update_fields=["undone_at", "undone_by", "updated_at"])
    low, high = sorted([survivor.pk, merged.pk])
    decision = (
        {"status": DuplicateCandidate.Status.OPEN, "decided_at": None, "decided_by": None}
        if reopen
        else {"status": DuplicateCandidate.Status.DISMISSED, "decided_at": now, "decided_by": merge.undone_by}
    )
    DuplicateCandidate.objects.update_or_create(
        lead_a_id=low,
        lead_b_id=high,
        defaults=decision,
        create_defaults={"score": merge.score or 0.0, "reasons": merge.reasons, **decision},
    )
    audit_record(actor=actor, action="lead.unmerged", obj=survivor, changes={"merged_lead": [merged.pk, None]})
    if merge.snapshot["merged"].get("pipeline_state") != Lead.PipelineState.ROUTED:
        from leads.tasks import pipeline_start

        transaction.on_commit(lambda: pipeline_start([merged.pk]))
    return merge


# --- Matching in the pipeline -------------------------------------------------------------


def definition_rules(definition: LeadDefinition | None) -> Mapping[str, Any] | None:
    return definition.rules if definition is not None else None


def leads_dedupe_saved(*, leads: Sequence[Lead], definition: LeadDefinition | None) -> set[int]:
    """Match stored leads (a pipeline batch, locked by the caller) with each other and every stored lead.

    Writes their keys, merges those above the definition's auto-merge threshold into the oldest
    matching lead, puts those above the review threshold in the queue. Returns the ids merged away.
    """
    if not leads:
        return set()
    outcomes, keys = match_batch(
        [record_of(lead) for lead in leads], rules=definition_rules(definition), ids=[lead.pk for lead in leads]
    )
    match_keys_replace(leads=leads, keys=keys)
    ids = [lead.pk for lead in leads]
    return match_outcomes_apply(outcomes, ids, {lead.pk: lead for lead in leads})[0]


def match_outcomes_apply(
    outcomes: Sequence[Outcome],
    ids: Sequence[int],
    leads: Mapping[int, Lead],
    joins: Mapping[int, int] | None = None,
    merged_before: Mapping[int, int] | None = None,
) -> tuple[set[int], int]:
    """Merge and queue what matching decided: returns the ids merged away and how many pairs are new in the queue.

    ``merged_before``: {lead id: survivor id} of leads merged already (before insert), whose pairs are
    their survivors'."""
    joins = joins or {}

    def resolve(ref: Ref) -> int:
        return ref[1] if ref[0] == "db" else ids[joins.get(ref[1], ref[1])]

    requests, reviews = [], []
    for n, outcome in enumerate(outcomes):
        if outcome.merge_into is not None:
            requests.append(MergeRequest(resolve(outcome.merge_into), leads[ids[n]], outcome.score, outcome.reasons))
        reviews += [(ids[n], resolve(ref), score, reasons) for ref, score, reasons in outcome.review]
    # A pair with a lead merged away here is the pair of its survivor (unless that is the other lead).
    into = {**(merged_before or {}), **{r.merged.pk: r.survivor_id for r in requests}}
    pairs = [(into.get(a, a), into.get(b, b), score, reasons) for a, b, score, reasons in reviews]
    queued = candidates_record(pairs=[pair for pair in pairs if pair[0] != pair[1]])
    leads_merge_many(requests=requests, automatic=True)
    return {r.merged.pk for r in requests}, queued


@transaction.atomic
def lead_duplicates_recheck(*, lead_id: int, definition: LeadDefinition | None = None) -> Merge | None:
    """Match one stored lead again (after an edit) with every other lead, older or newer.

    Above the definition's auto-merge threshold the younger of the two is merged into the older
    (a lead a person knows keeps its id); above the review threshold the pair is queued. Pairs
    dismissed as "not a duplicate" stay dismissed. Returns the merge, if one was made.
    """
    from leads.selectors import lead_definition_current

    lead = Lead.objects.filter(pk=lead_id, status=Lead.Status.ACTIVE).first()
    if lead is None:
        return None
    definition = definition or lead_definition_current()
    # Keys first (match_batch locks them), then the rows: the order the pipeline's steps take.
    outcomes, _ = match_batch([record_of(lead)], rules=definition_rules(definition), ids=[lead.pk])
    lead = Lead.objects.select_for_update(of=("self",)).filter(pk=lead_id, status=Lead.Status.ACTIVE).first()
    if lead is None:
        return None
    outcome = outcomes[0]
    candidates_record(pairs=[(lead.pk, ref[1], score, reasons) for ref, score, reasons in outcome.review])
    if outcome.merge_into is None:
        return None
    other = Lead.objects.filter(pk=outcome.merge_into[1], status=Lead.Status.ACTIVE).first()
    if other is None:
        return None
    older, younger = sorted([lead, other], key=lambda item: (item.created_at, item.pk))
    request = MergeRequest(older.pk, younger, outcome.score, outcome.reasons)
    return leads_merge_many(requests=[request], automatic=True)[0]


@dataclass(slots=True)
class ChunkPlan:
    """What matching decided for an import chunk's unsaved leads."""

    outcomes: list[Outcome]
    keys: list[set[tuple[str, str]]]
    #: index of a lead dropped before insert -> index of the lead in the chunk it joins
    joins: dict[int, int]
    #: ids of the stored leads matching saw
    seen: set[int] = field(default_factory=set)
    #: keys skipped as too common among the stored leads
    common: set[tuple[str, str]] = field(default_factory=set)
    #: merges into stored leads worked out before insert (their leads are inserted merged already)
    steps: list[_MergeStep] = field(default_factory=list)
    #: indexes of the leads those merges merge away
    premerged: set[int] = field(default_factory=set)
    #: {survivor id: its ``_MERGE_READS`` columns as read (unlocked) for those merges}: checked once locked
    read: dict[int, tuple[Any, ...]] = field(default_factory=dict)


class SurvivorGone(DatabaseError):
    """A lead an import chunk's rows were merged into is gone (deleted) since it was read: the chunk's
    task stores the chunk again from the start (``DatabaseError``s are retried)."""


def leads_dedupe_unsaved(*, leads: Sequence[Lead], definition: LeadDefinition | None) -> ChunkPlan:
    """Match an import chunk's unsaved leads with each other and the stored leads.

    A lead that is a duplicate of an earlier one in the chunk joins it before insert (its empty
    fields filled in from the duplicate). A lead that is a duplicate of a stored lead is merged into
    it in memory (the stored lead locked, its new values worked out) and so is inserted merged, never
    written twice; ``leads_dedupe_inserted`` writes the rest of those merges once it has its id. The
    caller leaves ``lead.merged_into_id`` leads out of the pipeline.
    No key is locked yet: ``leads_dedupe_inserted`` locks them at the end and matches again against
    what another worker stored meanwhile, so two chunks only take turns for that last step.
    """
    seen: set[int] = set()
    common: set[tuple[str, str]] = set()
    outcomes, keys = match_batch(
        [record_of(lead) for lead in leads], rules=definition_rules(definition), lock=False, seen=seen, skipped=common
    )
    joins = {}
    for n, outcome in enumerate(outcomes):
        if outcome.merge_into is not None and outcome.merge_into[0] == "new":
            target = outcome.merge_into[1]
            joins[n] = target
            for name in MERGE_FIELDS:
                if _empty(getattr(leads[target], name)) and not _empty(getattr(leads[n], name)):
                    setattr(leads[target], name, getattr(leads[n], name))
    plan = ChunkPlan(outcomes, keys, joins, seen, common)
    into_db = [n for n, o in enumerate(outcomes) if o.merge_into is not None and o.merge_into[0] == "db"]
    if into_db:
        # Read, not locked: ``leads_dedupe_inserted`` locks them only for the chunk's last step and
        # works out again the merges into a survivor another worker changed meanwhile.
        survivors = _leads_by_id((outcomes[n].merge_into[1] for n in into_db), lock=False, fields=_MERGE_READS)
        plan.read = {pk: tuple(getattr(survivor, name) for name in _MERGE_READS) for pk, survivor in survivors.items()}
        ready = []
        for n in into_db:
            survivor = survivors.get(outcomes[n].merge_into[1])
            if survivor is not None and survivor.status == Lead.Status.ACTIVE:
                ready.append(n)
            else:  # merged by another worker since it was read: matched again after insert
                outcomes[n].merge_into = None
        requests = [
            MergeRequest(outcomes[n].merge_into[1], leads[n], outcomes[n].score, outcomes[n].reasons) for n in ready
        ]
        plan.steps = _merges_plan(requests, survivors, [leads[n] for n in ready], timezone.now())
        plan.premerged = set(ready)
    return plan


def leads_dedupe_inserted(
    *, plan: ChunkPlan, leads: Sequence[Lead | None], definition: LeadDefinition | None = None
) -> set[int]:
    """After insert: the chunk's keys, its review pairs, and merges into stored leads. ``leads`` is
    the chunk's leads by index, ``None`` for those that joined another before insert.

    Then the keys that identify a person (``dedupe.matching.lock_keys``) are locked to the end of
    the transaction and every key is looked up again: a lead another worker stored meanwhile
    (committed while this chunk was matched) is matched with this chunk's lead now. Two workers
    storing the same person (same e-mail, phone, or badge scan) at the same moment so take turns
    only for this last step, and end with one lead."""
    kept = [(n, lead) for n, lead in enumerate(leads) if lead is not None]
    _keys_insert((lead.pk, k, v) for n, lead in kept for k, v in sorted(plan.keys[n]))
    ids = [lead.pk if lead is not None else 0 for lead in leads]
    _steps_lock(plan)
    premerged = {step.merged.pk: step.survivor.pk for step in plan.steps}
    _merges_write(plan.steps, actor=None, automatic=True, now=timezone.now())
    outcomes = [o if n not in plan.joins else Outcome() for n, o in enumerate(plan.outcomes)]
    # Merged before insert: only their review pairs are left to record (as their survivors').
    rest = [Outcome(review=o.review) if n in plan.premerged else o for n, o in enumerate(outcomes)]
    merged, _ = match_outcomes_apply(rest, ids, {lead.pk: lead for _, lead in kept}, plan.joins, premerged)
    return set(premerged) | merged | _recheck_locked(plan, kept, outcomes, ids, definition)


def _steps_lock(plan: ChunkPlan) -> None:
    """Lock the survivors of the merges worked out before insert, and work out again, in order, every
    merge into one that changed since it was read: into it as it is now, or into the lead it was
    merged into meanwhile (whose id the merged rows then take)."""
    if not plan.steps:
        return
    ids = sorted({step.survivor.pk for step in plan.steps})
    locked = Lead.objects.select_for_update(of=("self",)).filter(pk__in=json_in(ids, cast="bigint")).order_by("pk")
    now_read = {row[0]: row[1:] for row in locked.values_list("pk", *_MERGE_READS)}
    stale = {pk for pk in ids if now_read.get(pk) != plan.read[pk]}
    if not stale:
        return
    fresh = _leads_by_id(stale)
    targets: dict[int, Lead] = {}
    for pk in sorted(stale):
        target = fresh.get(pk)
        for _ in range(12):  # a merge chain: follow it to the lead that is active
            if target is None or target.status == Lead.Status.ACTIVE:
                break
            target = _leads_by_id([target.merged_into_id]).get(target.merged_into_id)
        if target is None or target.status != Lead.Status.ACTIVE:
            raise SurvivorGone(f"Lead {pk} was deleted while an import merged rows into it.")
        targets[pk] = targets.get(target.pk, target)
    redo = [n for n, step in enumerate(plan.steps) if step.survivor.pk in stale]
    for n in redo:  # the merged lead back as it was before its merge
        step = plan.steps[n]
        for name, value in _restore_values(step.snapshot["merged"]).items():
            setattr(step.merged, name, value)
    now = timezone.now()
    requests = [
        dataclasses.replace(plan.steps[n].request, survivor_id=targets[plan.steps[n].survivor.pk].pk) for n in redo
    ]
    survivors = {target.pk: target for target in targets.values()}
    for n, step in zip(redo, _merges_plan(requests, survivors, [plan.steps[n].merged for n in redo], now), strict=True):
        plan.steps[n] = step
    bulk_update_rows([plan.steps[n].merged for n in redo], ["merged_into", "updated_at"])


def _recheck_locked(
    plan: ChunkPlan,
    kept: Sequence[tuple[int, Lead]],
    outcomes: Sequence[Outcome],
    ids: Sequence[int],
    definition: LeadDefinition | None,
) -> set[int]:
    own = {lead.pk for _, lead in kept}
    locked = [lock_keys([plan.keys[n]]) for n, _ in kept]
    keys_lock(set().union(*locked) if locked else set())
    # Every key is looked up again (one query), the locked ones and the others: a lead committed
    # since this chunk was matched is found, whatever key it shares.
    every = [plan.keys[n] - plan.common for n, _ in kept]
    hits, _ = lookup_keys(set().union(*every) if every else set(), own | plan.seen)
    if not hits:
        return set()
    # This chunk's leads under a key with a new lead, unless merged already into a stored one (a
    # lead of an earlier chunk is never merged away into a newer one).
    roots = {
        lead.pk
        for (n, lead), keys in zip(kept, every, strict=True)
        if outcomes[n].merge_into is None and any(key in hits for key in keys)
    }
    current = list(
        Lead.objects.select_for_update(of=("self",)).filter(pk__in=roots, status=Lead.Status.ACTIVE).order_by("pk")
    )
    if not current:
        return set()
    again, _ = match_batch(
        [record_of(lead) for lead in current],
        rules=definition_rules(definition),
        ids=[lead.pk for lead in current],
        lock=False,
    )
    merged, _ = match_outcomes_apply(again, [lead.pk for lead in current], {lead.pk: lead for lead in current})
    return merged & own


# --- Accounts and contacts ------------------------------------------------------------------


def leads_link_accounts(*, leads: Sequence[Lead]) -> None:
    """Link each lead without an account to the one with its company domain, else its company name
    (legal form and punctuation aside); and to the contact with its e-mail. In memory: the caller saves."""
    from django.db.models.functions import Lower

    from dedupe.keys import company_key, domain_key
    from leads.models import Account, Contact

    domains = {domain_key(lead.company_domain) for lead in leads if lead.account_id is None} - {""}
    by_domain = {a.domain: a for a in Account.objects.filter(domain__in=json_in(domains))} if domains else {}
    names = {
        variant
        for lead in leads
        if lead.account_id is None and lead.company and domain_key(lead.company_domain) not in by_domain
        for variant in _company_variants(lead.company)
    }
    by_name: dict[str, Account] = {}
    if names:
        accounts = Account.objects.annotate(lower_name=Lower("name")).filter(lower_name__in=json_in(names))
        for account in accounts.order_by("pk"):
            by_name.setdefault(company_key(account.name), account)
    emails = {lead.email for lead in leads if lead.contact_id is None and "@" in lead.email}
    contacts: dict[str, Contact] = {}
    if emails:
        for contact in Contact.objects.filter(email__in=json_in(emails)).order_by("pk"):
            contacts.setdefault(contact.email, contact)
    for lead in leads:
        if lead.contact_id is None and lead.email in contacts:
            lead.contact = contacts[lead.email]
        if lead.account_id is None:
            account = by_domain.get(domain_key(lead.company_domain)) or by_name.get(company_key(lead.company))
            if account is None and lead.contact is not None and lead.contact.account_id:
                lead.account_id = lead.contact.account_id
            elif account is not None:
                lead.account = account


@functools.lru_cache(maxsize=65536)
def _company_variants(company: str) -> frozenset[str]:
    """Lower-case spellings an account's name may have for ``company``: as given, and without legal form.

    Cached: a list names the same companies over and over, and ``cleanco`` is slow."""
    from cleanco import basename

    lower = company.strip().lower()
    bare = basename(lower).strip()
    return frozenset({lower, bare, bare.replace(",", "").strip()} - {""})
