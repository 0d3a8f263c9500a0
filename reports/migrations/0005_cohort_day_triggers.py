"""The daily roll-ups of the milestone table (``CohortDay``, ``DurationDay``, ``RepDay``), kept by triggers on it.

``LeadMilestone`` is itself kept by triggers on every write path (``0002``, ``0003``), so one level
more sees them all too: each statement on it adds its new rows' figures to their (UTC day, source,
campaign) and takes its old rows' off, in one grouped insert of the differences (a 50,000-lead
``COPY`` is one statement). The roll-ups are append-only (no row shared by writers to lock), so a
key can hold several rows: readers sum them, and ``reports.services.rollups_compact`` folds them.
Only active leads count, so a merge (status ``merged``) takes the lead out and its undo puts it back. ``DurationDay`` counts each step's durations per UTC day and logarithmic bucket
(``reports_duration_bucket``), and one partial expression index per step lets the funnel read one
bucket's durations for its exact medians. ``RepDay`` counts each owner's assigned and accepted
leads per UTC day, and ``reports_milestone_response_idx`` gives each rep's median response from the
rank those counts give. For these the milestone table also copies the lead's stage, owner,
assignment and SLA times (``0002``'s lead triggers redefined) and counts its rejections by reason
(triggers on ``routing_rejection``). All backfilled.
"""

from django.db import migrations


STAGES = ("mql", "sal", "sql", "opportunity", "won")
OPEN_STAGES = ("new", "nurture", "mql", "sal", "sql", "opportunity")
REASONS = ("wrong_territory", "not_a_fit", "duplicate", "junk", "not_ready")
#: Each ``CohortDay`` figure: what one milestone row adds to it (``{sign}`` is 1, or -1 to take it off).
COHORT = {
    "leads": "{sign}",
    "accepted": "CASE WHEN accepted_at IS NULL THEN 0 ELSE {sign} END",
    **{s: f"CASE WHEN {s}_at IS NULL THEN 0 ELSE {{sign}} END" for s in STAGES},
    "won_deals": "{sign} * won_deals",
    "won_revenue": "{sign} * won_revenue",
    **{f"in_{s}": f"CASE WHEN stage = '{s}' THEN {{sign}} ELSE 0 END" for s in OPEN_STAGES},
    "mql_sla_open": "CASE WHEN stage = 'mql' AND owner_id IS NOT NULL AND accepted_at IS NULL "
    "AND sla_due_at IS NOT NULL THEN {sign} ELSE 0 END",
    **{f"rejected_{r}": f"{{sign}} * rejected_{r}" for r in REASONS},
}
FIGURES = tuple(COHORT)
#: The milestone columns copied from the lead, beyond ``0002``'s.
LEAD_COLUMNS = ("created_at", "status", "source_id", "campaign_id", "accepted_at", "stage", "owner_id", "assigned_at",
                "sla_due_at")  # fmt: skip


def _signed(rows: str, sign: str) -> str:
    """One row per active lead of the transition table ``rows``: its cohort key and figures times ``sign``."""
    figures = ", ".join(f"{expression.format(sign=sign)} AS {name}" for name, expression in COHORT.items())
    return (
        f"SELECT (created_at AT TIME ZONE 'UTC')::date AS day, source_id, campaign_id, {figures} "
        f"FROM {rows} WHERE status = 'active'"
    )


def _owned(rows: str, sign: str) -> str:
    """Per active lead of ``rows`` assigned to an owner: its UTC day, owner, and ``sign`` for assigned (and accepted)."""
    return (
        f"SELECT (created_at AT TIME ZONE 'UTC')::date AS day, owner_id, {sign} AS assigned, "
        f"CASE WHEN accepted_at IS NULL THEN 0 ELSE {sign} END AS accepted FROM {rows} "
        "WHERE status = 'active' AND owner_id IS NOT NULL AND assigned_at IS NOT NULL"
    )


def _count_owned(*parts: str) -> str:
    return f"""
    INSERT INTO reports_repday (day, owner_id, assigned, accepted)
    SELECT day, owner_id, sum(assigned), sum(accepted) FROM ({" UNION ALL ".join(parts)}) c
     GROUP BY day, owner_id HAVING sum(assigned) <> 0 OR sum(accepted) <> 0
    ;"""


def _rejections_recompute(lead_ids: str) -> str:
    counts = ", ".join(f"count(r.id) FILTER (WHERE r.reason = '{r}') AS {r}" for r in REASONS)
    return f"""
    UPDATE reports_leadmilestone m SET {", ".join(f"rejected_{r} = f.{r}" for r in REASONS)}
      FROM (SELECT ids.lead_id, {counts}
              FROM unnest({lead_ids}) AS ids (lead_id)
              LEFT JOIN routing_rejection r ON r.lead_id = ids.lead_id
             GROUP BY ids.lead_id) f
     WHERE m.lead_id = f.lead_id
       AND ({", ".join(f"m.rejected_{r}" for r in REASONS)}) IS DISTINCT FROM ({", ".join(f"f.{r}" for r in REASONS)});"""


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
    INSERT INTO reports_durationday (day, step, bucket, leads)
    SELECT day, step, bucket, sum(leads) FROM ({" UNION ALL ".join(parts)}) c
     GROUP BY day, step, bucket HAVING sum(leads) <> 0
    ;"""


def _apply(*parts: str) -> str:
    """Add the signed rows up per cohort key and append the sums: rows of changes, never an update of a
    shared row, so concurrent writers of the same day, source and campaign neither wait nor deadlock."""
    sums = ", ".join(f"sum({f})" for f in FIGURES)
    return f"""
    INSERT INTO reports_cohortday (day, source_id, campaign_id, {", ".join(FIGURES)})
    SELECT day, source_id, campaign_id, {sums}
      FROM ({" UNION ALL ".join(parts)}) c
     GROUP BY day, source_id, campaign_id
    HAVING {" OR ".join(f"sum({f}) <> 0" for f in FIGURES)}
    ;"""


INDEXES = "\n".join(
    f"CREATE INDEX reports_milestone_{stage}_bucket_idx ON reports_leadmilestone "
    f"(reports_duration_bucket({seconds(stage, since)}), created_at) "
    + ("INCLUDE (" if since == "created_at" else f"INCLUDE ({since}, ")
    + f"{stage}_at) WHERE status = 'active' AND {stage}_at IS NOT NULL AND {since} IS NOT NULL;"
    for stage, since in STEPS
)

RESPONSE_INDEX = (
    "CREATE INDEX reports_milestone_response_idx ON reports_leadmilestone "
    "(owner_id, date_part('epoch', accepted_at - assigned_at)) INCLUDE (created_at, assigned_at, accepted_at) "
    "WHERE status = 'active' AND owner_id IS NOT NULL AND assigned_at IS NOT NULL AND accepted_at IS NOT NULL;"
)

#: The lead triggers of ``0002`` again, copying the columns the roll-ups need too.
LEADS = f"""
CREATE OR REPLACE FUNCTION reports_milestones_leads_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO reports_leadmilestone (lead_id, {", ".join(LEAD_COLUMNS)})
    SELECT id, {", ".join(LEAD_COLUMNS)} FROM new_leads
    ON CONFLICT (lead_id) DO NOTHING;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION reports_milestones_lead_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE reports_leadmilestone SET {", ".join(f"{c} = NEW.{c}" for c in LEAD_COLUMNS)} WHERE lead_id = NEW.id;
    RETURN NULL;
END $$;
DROP TRIGGER reports_milestones_lead_updated ON leads_lead;
CREATE TRIGGER reports_milestones_lead_updated
    AFTER UPDATE OF {", ".join(LEAD_COLUMNS)} ON leads_lead FOR EACH ROW
    WHEN ({" OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in LEAD_COLUMNS)})
    EXECUTE FUNCTION reports_milestones_lead_updated();

CREATE FUNCTION reports_milestones_rejections_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN {_rejections_recompute("ARRAY(SELECT DISTINCT lead_id FROM new_rows)")}
    RETURN NULL;
END $$;
CREATE TRIGGER reports_milestones_rejections_inserted AFTER INSERT ON routing_rejection
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION reports_milestones_rejections_inserted();

CREATE FUNCTION reports_milestones_rejections_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN {_rejections_recompute("ARRAY(SELECT lead_id FROM old_rows UNION SELECT lead_id FROM new_rows)")}
    RETURN NULL;
END $$;
CREATE TRIGGER reports_milestones_rejections_updated AFTER UPDATE ON routing_rejection
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION reports_milestones_rejections_updated();

CREATE FUNCTION reports_milestones_rejections_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN {_rejections_recompute("ARRAY(SELECT DISTINCT lead_id FROM old_rows)")}
    RETURN NULL;
END $$;
CREATE TRIGGER reports_milestones_rejections_deleted AFTER DELETE ON routing_rejection
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION reports_milestones_rejections_deleted();

-- Backfill the new milestone columns before the roll-ups' triggers exist (one pass each).
UPDATE reports_leadmilestone m SET {", ".join(f"{c} = l.{c}" for c in LEAD_COLUMNS[5:])}
  FROM leads_lead l WHERE l.id = m.lead_id;
UPDATE reports_leadmilestone m SET {", ".join(f"rejected_{r} = f.{r}" for r in REASONS)}
  FROM (SELECT lead_id, {", ".join(f"count(*) FILTER (WHERE reason = '{r}') AS {r}" for r in REASONS)}
          FROM routing_rejection GROUP BY lead_id) f
 WHERE m.lead_id = f.lead_id;
"""

#: What ``0002`` had, for the way back.
LEADS_BEFORE = """
CREATE OR REPLACE FUNCTION reports_milestones_leads_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO reports_leadmilestone (lead_id, created_at, status, source_id, campaign_id, accepted_at)
    SELECT id, created_at, status, source_id, campaign_id, accepted_at FROM new_leads
    ON CONFLICT (lead_id) DO NOTHING;
    RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION reports_milestones_lead_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE reports_leadmilestone
       SET created_at = NEW.created_at, status = NEW.status, source_id = NEW.source_id,
           campaign_id = NEW.campaign_id, accepted_at = NEW.accepted_at
     WHERE lead_id = NEW.id;
    RETURN NULL;
END $$;
DROP TRIGGER reports_milestones_lead_updated ON leads_lead;
CREATE TRIGGER reports_milestones_lead_updated
    AFTER UPDATE OF created_at, status, source_id, campaign_id, accepted_at ON leads_lead FOR EACH ROW
    WHEN (OLD.created_at IS DISTINCT FROM NEW.created_at OR OLD.status IS DISTINCT FROM NEW.status
          OR OLD.source_id IS DISTINCT FROM NEW.source_id OR OLD.campaign_id IS DISTINCT FROM NEW.campaign_id
          OR OLD.accepted_at IS DISTINCT FROM NEW.accepted_at)
    EXECUTE FUNCTION reports_milestones_lead_updated();
DROP TRIGGER IF EXISTS reports_milestones_rejections_inserted ON routing_rejection;
DROP TRIGGER IF EXISTS reports_milestones_rejections_updated ON routing_rejection;
DROP TRIGGER IF EXISTS reports_milestones_rejections_deleted ON routing_rejection;
DROP FUNCTION IF EXISTS reports_milestones_rejections_inserted(), reports_milestones_rejections_updated(),
    reports_milestones_rejections_deleted();
DROP INDEX IF EXISTS reports_milestone_response_idx;
DROP INDEX IF EXISTS reports_milestone_source_idx;
DROP INDEX IF EXISTS reports_milestone_campaign_idx;
"""

CREATE = f"""{LEADS}
-- Monotonic in the seconds (so buckets sort as their durations do), about 8 buckets to an e-fold.
CREATE FUNCTION reports_duration_bucket(seconds double precision) RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE WHEN seconds >= 0 THEN floor(8 * ln(1 + seconds))::integer
                ELSE -1 - floor(8 * ln(1 - seconds))::integer END;

CREATE FUNCTION reports_cohortdays_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN {_apply(_signed("new_rows", "1"))}{_count_durations(_durations("new_rows", "1"))}{_count_owned(_owned("new_rows", "1"))}
    RETURN NULL;
END $$;
CREATE TRIGGER reports_cohortdays_inserted AFTER INSERT ON reports_leadmilestone
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION reports_cohortdays_inserted();

CREATE FUNCTION reports_cohortdays_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN {_apply(_signed("new_rows", "1"), _signed("old_rows", "-1"))}
    {_count_durations(_durations("new_rows", "1"), _durations("old_rows", "-1"))}
    {_count_owned(_owned("new_rows", "1"), _owned("old_rows", "-1"))}
    RETURN NULL;
END $$;
CREATE TRIGGER reports_cohortdays_updated AFTER UPDATE ON reports_leadmilestone
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION reports_cohortdays_updated();

CREATE FUNCTION reports_cohortdays_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN {_apply(_signed("old_rows", "-1"))}{_count_durations(_durations("old_rows", "-1"))}{_count_owned(_owned("old_rows", "-1"))}
    RETURN NULL;
END $$;
CREATE TRIGGER reports_cohortdays_deleted AFTER DELETE ON reports_leadmilestone
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION reports_cohortdays_deleted();

TRUNCATE reports_cohortday, reports_durationday, reports_repday;
{_apply(_signed("reports_leadmilestone", "1"))}
{_count_durations(_durations("reports_leadmilestone", "1"))}
{_count_owned(_owned("reports_leadmilestone", "1"))}
{INDEXES}
{RESPONSE_INDEX}
-- A source's or campaign's cohort (its medians, the hours at a range's ends) without reading every lead's.
CREATE INDEX reports_milestone_source_idx ON reports_leadmilestone (source_id, created_at);
CREATE INDEX reports_milestone_campaign_idx ON reports_leadmilestone (campaign_id, created_at);
ANALYZE reports_cohortday;
ANALYZE reports_durationday;
ANALYZE reports_repday;
ANALYZE reports_leadmilestone;
"""

DROP = (
    LEADS_BEFORE
    + """
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
    dependencies = [("reports", "0004_cohort_days"), ("routing", "0003_rejections")]

    operations = [migrations.RunPython(create_triggers, drop_triggers)]
