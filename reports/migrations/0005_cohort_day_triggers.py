"""The daily roll-ups of the milestone table (``CohortDay``, ``DurationDay``), kept by triggers on it.

``LeadMilestone`` is itself kept by triggers on every write path (``0002``, ``0003``), so one level
more sees them all too: each statement on it adds its new rows' figures to their (UTC day, source,
campaign) and takes its old rows' off, in one grouped upsert (a 50,000-lead ``COPY`` is one
statement). Only active leads count, so a merge (status ``merged``) takes the lead out and its undo
puts it back. ``DurationDay`` counts each step's durations per UTC day and logarithmic bucket
(``reports_duration_bucket``), and one partial expression index per step lets the funnel read one
bucket's durations for its exact medians. Both backfilled from the milestone table.
"""

from django.db import migrations


STAGES = ("mql", "sal", "sql", "opportunity", "won")
FIGURES = ("leads", "accepted", *STAGES, "won_deals", "won_revenue")


def _signed(rows: str, sign: str) -> str:
    """One row per active lead of the transition table ``rows``: its cohort key and figures times ``sign``."""
    reached = ", ".join(f"CASE WHEN {s}_at IS NULL THEN 0 ELSE {sign} END AS {s}" for s in STAGES)
    return (
        f"SELECT (created_at AT TIME ZONE 'UTC')::date AS day, source_id, campaign_id, {sign} AS leads, "
        f"CASE WHEN accepted_at IS NULL THEN 0 ELSE {sign} END AS accepted, {reached}, "
        f"{sign} * won_deals AS won_deals, {sign} * won_revenue AS won_revenue FROM {rows} WHERE status = 'active'"
    )


#: Each funnel step: the stage reached, and the column it is timed from.
STEPS = (
    ("mql", "created_at"),
    ("sal", "mql_at"),
    ("sql", "sal_at"),
    ("opportunity", "sql_at"),
    ("won", "opportunity_at"),
)


def seconds(stage: str, since: str, table: str = "") -> str:
    """The step's duration, exactly as ``reports.selectors`` and the step's index write it."""
    return f"date_part('epoch', {table}{stage}_at - {table}{since})"


def _durations(rows: str, sign: str) -> str:
    """Per active lead of ``rows`` and step it took: its UTC day, step and duration bucket, and ``sign``."""
    values = ", ".join(f"('{stage}', {seconds(stage, since, 'r.')})" for stage, since in STEPS)
    return (
        f"SELECT (r.created_at AT TIME ZONE 'UTC')::date AS day, v.step, reports_duration_bucket(v.seconds) AS bucket, "
        f"{sign} AS leads FROM {rows} r CROSS JOIN LATERAL (VALUES {values}) v (step, seconds) "
        "WHERE r.status = 'active' AND v.seconds IS NOT NULL"
    )


def _count_durations(*parts: str) -> str:
    return f"""
    INSERT INTO reports_durationday AS d (day, step, bucket, leads)
    SELECT day, step, bucket, sum(leads) FROM ({" UNION ALL ".join(parts)}) c
     GROUP BY day, step, bucket HAVING sum(leads) <> 0
     ORDER BY day, step, bucket
    ON CONFLICT (day, step, bucket) DO UPDATE SET leads = d.leads + excluded.leads;"""


def _apply(*parts: str) -> str:
    """Add the signed rows up per cohort key and upsert the sums (in key order, so concurrent writers queue)."""
    sums = ", ".join(f"sum({f})" for f in FIGURES)
    return f"""
    INSERT INTO reports_cohortday AS d (day, source_id, campaign_id, {", ".join(FIGURES)})
    SELECT day, source_id, campaign_id, {sums}
      FROM ({" UNION ALL ".join(parts)}) c
     GROUP BY day, source_id, campaign_id
    HAVING {" OR ".join(f"sum({f}) <> 0" for f in FIGURES)}
     ORDER BY day, source_id, campaign_id
    ON CONFLICT (day, source_id, COALESCE(campaign_id, 0))
    DO UPDATE SET {", ".join(f"{f} = d.{f} + excluded.{f}" for f in FIGURES)};"""


INDEXES = "\n".join(
    f"CREATE INDEX reports_milestone_{stage}_bucket_idx ON reports_leadmilestone "
    f"(reports_duration_bucket({seconds(stage, since)}), created_at) "
    + ("INCLUDE (" if since == "created_at" else f"INCLUDE ({since}, ")
    + f"{stage}_at) WHERE status = 'active' AND {stage}_at IS NOT NULL AND {since} IS NOT NULL;"
    for stage, since in STEPS
)

CREATE = f"""
-- Monotonic in the seconds (so buckets sort as their durations do), about 8 buckets to an e-fold.
CREATE FUNCTION reports_duration_bucket(seconds double precision) RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE WHEN seconds >= 0 THEN floor(8 * ln(1 + seconds))::integer
                ELSE -1 - floor(8 * ln(1 - seconds))::integer END;

CREATE FUNCTION reports_cohortdays_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN {_apply(_signed("new_rows", "1"))}{_count_durations(_durations("new_rows", "1"))}
    RETURN NULL;
END $$;
CREATE TRIGGER reports_cohortdays_inserted AFTER INSERT ON reports_leadmilestone
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION reports_cohortdays_inserted();

CREATE FUNCTION reports_cohortdays_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN {_apply(_signed("new_rows", "1"), _signed("old_rows", "-1"))}
    {_count_durations(_durations("new_rows", "1"), _durations("old_rows", "-1"))}
    RETURN NULL;
END $$;
CREATE TRIGGER reports_cohortdays_updated AFTER UPDATE ON reports_leadmilestone
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION reports_cohortdays_updated();

CREATE FUNCTION reports_cohortdays_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN {_apply(_signed("old_rows", "-1"))}{_count_durations(_durations("old_rows", "-1"))}
    RETURN NULL;
END $$;
CREATE TRIGGER reports_cohortdays_deleted AFTER DELETE ON reports_leadmilestone
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION reports_cohortdays_deleted();

{_apply(_signed("reports_leadmilestone", "1"))}
{_count_durations(_durations("reports_leadmilestone", "1"))}
{INDEXES}
ANALYZE reports_cohortday;
ANALYZE reports_durationday;
ANALYZE reports_leadmilestone;
"""

DROP = (
    """
DROP TRIGGER IF EXISTS reports_cohortdays_inserted ON reports_leadmilestone;
DROP TRIGGER IF EXISTS reports_cohortdays_updated ON reports_leadmilestone;
DROP TRIGGER IF EXISTS reports_cohortdays_deleted ON reports_leadmilestone;
DROP FUNCTION IF EXISTS reports_cohortdays_inserted(), reports_cohortdays_updated(), reports_cohortdays_deleted();
"""
    + "".join(f"DROP INDEX IF EXISTS reports_milestone_{stage}_bucket_idx;\n" for stage, _ in STEPS)
    + """
DROP FUNCTION IF EXISTS reports_duration_bucket(double precision);
"""
)


def create_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    # Its own migration: the roll-up's unique index (the upsert's key) is only created at the end of 0004.
    dependencies = [("reports", "0004_cohort_days")]

    operations = [migrations.RunPython(create_triggers, drop_triggers)]
