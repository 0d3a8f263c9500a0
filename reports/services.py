"""Upkeep of the reports' roll-up tables (``reports.models``); the figures themselves are in ``selectors``."""

from __future__ import annotations

from django.db import connection, transaction

#: Each roll-up: its table, its key columns, the columns summed.
ROLLUPS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "reports_cohortday": (
        ("day", "source_id", "campaign_id"),
        (
            "leads",
            "accepted",
            "mql",
            "sal",
            "sql",
            "opportunity",
            "won",
            "won_deals",
            "won_revenue",
            "in_new",
            "in_nurture",
            "in_mql",
            "in_sal",
            "in_sql",
            "in_opportunity",
            "mql_sla_open",
            "rejected_wrong_territory",
            "rejected_not_a_fit",
            "rejected_duplicate",
            "rejected_junk",
            "rejected_not_ready",
        ),
    ),
    "reports_durationday": (("day", "step", "bucket"), ("leads",)),
    "reports_repday": (("day", "owner_id"), ("assigned", "accepted")),
}


NULLABLE_KEYS = {"campaign_id"}


def rollups_compact() -> int:
    """Fold each roll-up key's rows of changes into one row (dropped when it sums to nothing); returns rows removed.

    The triggers only ever append, so that writers never queue on a shared row; this keeps the
    tables near one row per key. Safe beside those writers and another compaction: it deletes and
    re-adds only rows it has locked, in one statement per table, and a row appended meanwhile
    simply waits for the next run. PostgreSQL only (the tables stay empty on SQLite).
    """
    if connection.vendor != "postgresql":
        return 0
    removed = 0
    with transaction.atomic(), connection.cursor() as cursor:
        for table, (keys, sums) in ROLLUPS.items():
            # Plain equalities (campaign_id, the one nullable key, through coalesce) so the planner can
            # hash the join: IS NOT DISTINCT FROM would compare every row with every key.
            same_key = " AND ".join(
                f"coalesce(t.{key}, 0) = coalesce(several.{key}, 0)"
                if key in NULLABLE_KEYS
                else f"t.{key} = several.{key}"
                for key in keys
            )
            cursor.execute(
                f"WITH several AS (SELECT {', '.join(keys)} FROM {table} GROUP BY {', '.join(keys)} "
                f"HAVING count(*) > 1 OR bool_and({' AND '.join(f'{c} = 0' for c in sums)})), "
                f"moved AS (DELETE FROM {table} t USING several WHERE {same_key} RETURNING t.*), "
                f"folded AS (INSERT INTO {table} ({', '.join(keys + sums)}) "
                f"SELECT {', '.join(keys)}, {', '.join(f'sum({c})' for c in sums)} FROM moved "
                f"GROUP BY {', '.join(keys)} HAVING {' OR '.join(f'sum({c}) <> 0' for c in sums)} RETURNING 1) "
                "SELECT (SELECT count(*) FROM moved) - (SELECT count(*) FROM folded)"
            )
            removed += cursor.fetchone()[0]
    return removed
