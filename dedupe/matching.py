"""Finding duplicates for a batch of incoming records: blocking-key look-ups in bulk, then comparison.

A batch (an import chunk, a pipeline batch) is matched against itself in memory and against the
database with one indexed query per key kind; each incoming record is compared with the handful
of records that share a key with it. Merged leads keep their keys, so a record that matches one
is matched to its survivor.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connection

from dedupe.compare import compare
from dedupe.keys import EMAIL, FIELDS, PHONE, lead_keys
from dedupe.models import DuplicateCandidate, MatchKey
from leadflow.db import json_in
from leads.models import Lead

#: Records compared per incoming record at most (those sharing the most keys first).
MAX_CANDIDATES = 30
#: A key shared by more leads than this says little (a switchboard number, a shared inbox): skipped.
MAX_LEADS_PER_KEY = 200
#: Kinds of key that identify a person on their own (locked for every record that has one).
STRONG_KINDS = frozenset({EMAIL, PHONE})

#: Where a match points: ("db", lead id) or ("new", index of an earlier record in the batch).
Ref = tuple[str, int]


@dataclass(slots=True)
class Outcome:
    """What matching decided for one incoming record."""

    merge_into: Ref | None = None
    score: float = 0.0
    reasons: list[str] = field(default_factory=list)
    #: (ref, score, reasons) of pairs to put in the review queue.
    review: list[tuple[Ref, float, list[str]]] = field(default_factory=list)


@dataclass(slots=True)
class _Known:
    fields: dict[str, Any]
    root: int
    root_created: Any


def thresholds(rules: Mapping[str, Any] | None) -> tuple[float, float]:
    """(auto_merge, review) from a lead definition's rules."""
    dedupe = (rules or {}).get("dedupe") or {}
    return float(dedupe.get("auto_merge", 0.92)), float(dedupe.get("review", 0.75))


def record_of(lead: Lead) -> dict[str, Any]:
    return {name: getattr(lead, name) for name in FIELDS}


def lock_keys(keys: Sequence[set[tuple[str, str]]]) -> set[tuple[str, str]]:
    """The keys to lock for records with ``keys``: those that identify a person on their own (e-mail,
    phone), and a record's name keys only when it has neither (a badge scan).

    Name keys are shared by many people (a frequent surname at a big city's postal code): locking
    them for every record would make every two chunks of a list take turns for their whole
    transaction. Two workers storing one person with the same e-mail or phone, or the same badge
    scan, still take turns.
    """
    locked: set[tuple[str, str]] = set()
    for own in keys:
        strong = {key for key in own if key[0] in STRONG_KINDS}
        locked |= strong or own
    return locked


def keys_lock(keys: Iterable[tuple[str, str]]) -> None:
    """Serialize concurrent matching of records that share a key (PostgreSQL; SQLite serializes writers).

    Taken in sorted order, held to the end of the transaction: two workers storing the same person
    at the same moment take turns, and the second finds the first's lead.
    """
    if connection.vendor != "postgresql":
        return
    hashes = sorted({int.from_bytes(hashlib.blake2b(f"{k}\x00{v}".encode(), digest_size=8).digest(), "big", signed=True)
                     for k, v in keys})  # fmt: skip
    if not hashes:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_advisory_xact_lock(k)) FROM (SELECT k::bigint AS k FROM json_array_elements_text(%s::json)"
            " AS k ORDER BY 1) AS s",
            [json.dumps(hashes)],
        )


def lookup_keys(
    keys: set[tuple[str, str]], exclude: set[int]
) -> tuple[dict[tuple[str, str], list[int]], set[tuple[str, str]]]:
    """The stored leads (but ``exclude``) under each of ``keys``, and the keys skipped as too common.

    A key shared by more than ``MAX_LEADS_PER_KEY`` leads (besides ``exclude``) is skipped without
    reading its rows: at most that many plus one are read per key, in one indexed query for all keys.
    """
    limit = MAX_LEADS_PER_KEY + 1
    found: dict[tuple[str, str], list[int]] = defaultdict(list)
    if not keys:
        return {}, set()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # ``<> ALL`` of a constant array is a hash look-up (PostgreSQL 15): a recheck passes thousands.
            cursor.execute(
                f"SELECT q.kind, q.value, m.lead_id FROM (SELECT e->>0 AS kind, e->>1 AS value "
                f"FROM json_array_elements(%s::json) AS e) AS q CROSS JOIN LATERAL (SELECT mk.lead_id FROM "
                f"{MatchKey._meta.db_table} AS mk WHERE mk.kind = q.kind AND mk.value = q.value "
                f"AND mk.lead_id <> ALL(%s::bigint[]) LIMIT {limit}) AS m",
                [json.dumps(sorted(keys)), sorted(exclude)],
            )
            rows = cursor.fetchall()
    else:
        by_kind: dict[str, set[str]] = defaultdict(set)
        for kind, value in keys:
            by_kind[kind].add(value)
        rows = [
            (kind, value, lead_id)
            for kind, values in by_kind.items()
            for value, lead_id in MatchKey.objects.filter(kind=kind, value__in=values).values_list("value", "lead_id")
        ]
    for kind, value, lead_id in rows:
        if lead_id not in exclude:
            found[(kind, value)].append(lead_id)
    common = {key for key, ids in found.items() if len(ids) > MAX_LEADS_PER_KEY}
    return {key: ids for key, ids in found.items() if key not in common}, common


def _load(lead_ids: set[int]) -> dict[int, _Known]:
    """The fields of ``lead_ids``, each with its root: itself when active, else the lead it was merged into."""
    columns = ("id", "status", "merged_into_id", "created_at", *FIELDS)
    rows = {row["id"]: row for row in Lead.objects.filter(pk__in=json_in(lead_ids, cast="bigint")).values(*columns)}
    parents = {row["id"]: row["merged_into_id"] for row in rows.values() if row["merged_into_id"]}
    created = {row["id"]: row["created_at"] for row in rows.values() if not row["merged_into_id"]}
    pending = set(parents.values()) - set(created)
    for _ in range(10):  # merge chains are short; ten hops is plenty
        if not pending:
            break
        found = list(
            Lead.objects.filter(pk__in=json_in(pending, cast="bigint")).values_list(
                "id", "merged_into_id", "created_at"
            )
        )
        for lead_id, parent, when in found:
            if parent:
                parents[lead_id] = parent
            else:
                created[lead_id] = when
        pending = {p for _, p, _ in found if p} - set(created) - set(parents)
    known = {}
    for lead_id, row in rows.items():
        root = lead_id
        for _ in range(12):
            if root not in parents:
                break
            root = parents[root]
        if root in created:
            known[lead_id] = _Known({name: row[name] for name in FIELDS}, root, created[root])
    return known


def _dismissed(lead_ids: set[int]) -> set[tuple[int, int]]:
    if not lead_ids:
        return set()
    pairs = DuplicateCandidate.objects.filter(status=DuplicateCandidate.Status.DISMISSED)
    found = pairs.filter(lead_a__in=json_in(lead_ids, cast="bigint")).values_list("lead_a", "lead_b")
    found2 = pairs.filter(lead_b__in=json_in(lead_ids, cast="bigint")).values_list("lead_a", "lead_b")
    return set(found) | set(found2)


def match_batch(
    records: Sequence[Mapping[str, Any]],
    *,
    rules: Mapping[str, Any] | None,
    ids: Sequence[int | None] | None = None,
    lock: bool = True,
    seen: set[int] | None = None,
    skipped: set[tuple[str, str]] | None = None,
    older_only: bool = False,
) -> tuple[list[Outcome], list[set[tuple[str, str]]]]:
    """Match each of ``records`` against the stored leads and the records before it in the batch.

    ``ids`` are the records' own lead ids when they are stored already (their keys and pairs
    dismissed before count). Returns an outcome per record and each record's keys; ``seen`` and
    ``skipped``, when given, get the ids of the stored leads found and the keys skipped as too common.
    With ``older_only`` (stored records, ``ids`` ascending) a record is compared only with leads of a
    smaller id, so a re-run over stored leads considers each pair once, from its newer lead.
    """
    auto, review = thresholds(rules)
    ids = list(ids) if ids is not None else [None] * len(records)
    keys = [lead_keys(record) for record in records]
    every_key = set().union(*keys) if keys else set()
    if lock:
        keys_lock(lock_keys(keys))
    own = {lead_id for lead_id in ids if lead_id}
    hits, common = lookup_keys(every_key, own)
    if seen is not None:
        seen.update(lead_id for lead_ids in hits.values() for lead_id in lead_ids)
    if skipped is not None:
        skipped.update(common)
    known = _load({lead_id for lead_ids in hits.values() for lead_id in lead_ids})
    dismissed = _dismissed(own | {k.root for k in known.values()})
    created = {k.root: k.root_created for k in known.values()}
    batch_index: dict[tuple[str, str], list[int]] = defaultdict(list)
    position = {lead_id: n for n, lead_id in enumerate(ids) if lead_id}
    roots: list[Ref] = []  # the root each batch record ended up with
    outcomes: list[Outcome] = []
    for n, record in enumerate(records):
        shared: dict[Ref, int] = defaultdict(int)  # candidate record -> keys shared
        newest = ids[n] if older_only and ids[n] is not None else None
        for key in keys[n]:
            for lead_id in hits.get(key, ()):
                if lead_id in known and (newest is None or lead_id < newest):
                    shared[("db", lead_id)] += 1
            for m in batch_index.get(key, ()):
                shared[("new", m)] += 1
        best: dict[Ref, tuple[float, list[str], Any]] = {}  # root -> (score, reasons, age)
        for ref, _ in sorted(shared.items(), key=lambda item: -item[1])[:MAX_CANDIDATES]:
            if ref[0] == "db":
                other, root, age = known[ref[1]].fields, ("db", known[ref[1]].root), (0, known[ref[1]].root_created)
                if root[1] in position:  # merged into a lead of this batch: where that one ended up
                    if position[root[1]] > n:
                        continue  # a later record of the batch, which meets this pair from its side
                    root = roots[position[root[1]]]
                    age = (0, created.get(root[1], age[1])) if root[0] == "db" else (1, root[1])
            else:
                other, root = records[ref[1]], roots[ref[1]]
                age = (0, created[root[1]]) if root[0] == "db" else (1, root[1])
            if root == ("new", n) or (ids[n] is not None and root == ("db", ids[n])):
                continue  # itself, or a lead merged into it
            if _is_dismissed(ids[n], root, ids, dismissed):
                continue
            match = compare(record, other)
            if root not in best or match.score > best[root][0]:
                best[root] = (match.score, match.reasons, age)
        outcome = Outcome()
        merges = [(age, root, score, reasons) for root, (score, reasons, age) in best.items() if score >= auto]
        if merges:
            # The oldest lead survives: a stored one before any in this batch, then by creation or position.
            age, root, score, reasons = min(merges, key=lambda item: (item[0][0], str(item[0][1]).zfill(40)))
            outcome.merge_into, outcome.score, outcome.reasons = root, score, reasons
            roots.append(root)
        else:
            roots.append(("new", n))
        outcome.review = [
            (root, s, r) for root, (s, r, _) in best.items() if s >= review and root != outcome.merge_into
        ]
        outcomes.append(outcome)
        for key in keys[n] - common:  # a key too common among stored leads says as little here
            batch_index[key].append(n)
    return outcomes, keys


def _is_dismissed(own_id: int | None, root: Ref, ids: Sequence[int | None], dismissed: set[tuple[int, int]]) -> bool:
    other = root[1] if root[0] == "db" else ids[root[1]]
    if own_id is None or other is None:
        return False
    return (min(own_id, other), max(own_id, other)) in dismissed
