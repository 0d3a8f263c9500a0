"""The daily roll-up of the milestone table (``CohortDay``), kept by triggers on ``reports_leadmilestone``.

``LeadMilestone`` is itself kept by triggers on every write path (``0002``, ``0003``), so one level
more sees them all too: each statement on it adds its new rows' figures to their (UTC day, source,
campaign) and takes its old rows' off, in one grouped upsert (a 50,000-lead ``COPY`` is one
statement). Only active leads count, so a merge (status ``merged``) takes the lead out and its undo
puts it back. Backfilled from the milestone table.
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


CREATE = f"""
CREATE FUNCTION reports_cohortdays_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN {_apply(_signed("new_rows", "1"))}
    RETURN NULL;
END $$;
CREATE TRIGGER reports_cohortdays_inserted AFTER INSERT ON reports_leadmilestone
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION reports_cohortdays_inserted();

CREATE FUNCTION reports_cohortdays_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN {_apply(_signed("new_rows", "1"), _signed("old_rows", "-1"))}
    RETURN NULL;
END $$;
CREATE TRIGGER reports_cohortdays_updated AFTER UPDATE ON reports_leadmilestone
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION reports_cohortdays_updated();

CREATE FUNCTION reports_cohortdays_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN {_apply(_signed("old_rows", "-1"))}
    RETURN NULL;
END $$;
CREATE TRIGGER reports_cohortdays_deleted AFTER DELETE ON reports_leadmilestone
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION reports_cohortdays_deleted();

{_apply(_signed("reports_leadmilestone", "1"))}
ANALYZE reports_cohortday;
"""

DROP = """
DROP TRIGGER IF EXISTS reports_cohortdays_inserted ON reports_leadmilestone;
DROP TRIGGER IF EXISTS reports_cohortdays_updated ON reports_leadmilestone;
DROP TRIGGER IF EXISTS reports_cohortdays_deleted ON reports_leadmilestone;
DROP FUNCTION IF EXISTS reports_cohortdays_inserted(), reports_cohortdays_updated(), reports_cohortdays_deleted();
"""


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
