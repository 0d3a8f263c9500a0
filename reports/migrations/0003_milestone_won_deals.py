"""Won deals and revenue per lead on the milestone table, kept by triggers on ``leads_opportunity``.

Revenue per source and campaign then comes from the same scan of the cohort as the funnel, instead
of joining the won opportunities to a million leads. Any insert, update (closed won, a changed
amount) or delete of opportunities recomputes its leads' two columns. The covering index is rebuilt
after the backfill.
"""

from django.db import migrations, models


CREATE = """
CREATE FUNCTION reports_milestones_deals_recompute(lead_ids bigint[]) RETURNS void LANGUAGE sql AS $$
    UPDATE reports_leadmilestone m
       SET won_deals = f.won_deals, won_revenue = f.won_revenue
      FROM (SELECT ids.lead_id, count(o.id) AS won_deals, coalesce(sum(o.amount), 0) AS won_revenue
              FROM unnest(lead_ids) AS ids (lead_id)
              LEFT JOIN leads_opportunity o ON o.lead_id = ids.lead_id AND o.stage = 'won'
             GROUP BY ids.lead_id) f
     WHERE m.lead_id = f.lead_id
       AND (m.won_deals, m.won_revenue) IS DISTINCT FROM (f.won_deals, f.won_revenue);
$$;

CREATE FUNCTION reports_milestones_deals_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM reports_milestones_deals_recompute(ARRAY(SELECT DISTINCT lead_id FROM new_deals));
    RETURN NULL;
END $$;
CREATE TRIGGER reports_milestones_deals_inserted AFTER INSERT ON leads_opportunity
    REFERENCING NEW TABLE AS new_deals FOR EACH STATEMENT EXECUTE FUNCTION reports_milestones_deals_inserted();

CREATE FUNCTION reports_milestones_deals_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM reports_milestones_deals_recompute(ARRAY(
        SELECT lead_id FROM old_deals UNION SELECT lead_id FROM new_deals
    ));
    RETURN NULL;
END $$;
CREATE TRIGGER reports_milestones_deals_updated AFTER UPDATE ON leads_opportunity
    REFERENCING OLD TABLE AS old_deals NEW TABLE AS new_deals
    FOR EACH STATEMENT EXECUTE FUNCTION reports_milestones_deals_updated();

CREATE FUNCTION reports_milestones_deals_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM reports_milestones_deals_recompute(ARRAY(SELECT DISTINCT lead_id FROM old_deals));
    RETURN NULL;
END $$;
CREATE TRIGGER reports_milestones_deals_deleted AFTER DELETE ON leads_opportunity
    REFERENCING OLD TABLE AS old_deals FOR EACH STATEMENT EXECUTE FUNCTION reports_milestones_deals_deleted();

UPDATE reports_leadmilestone m
   SET won_deals = f.won_deals, won_revenue = f.won_revenue
  FROM (SELECT lead_id, count(*) AS won_deals, sum(amount) AS won_revenue
          FROM leads_opportunity WHERE stage = 'won' GROUP BY lead_id) f
 WHERE m.lead_id = f.lead_id;
"""

DROP = """
DROP TRIGGER IF EXISTS reports_milestones_deals_inserted ON leads_opportunity;
DROP TRIGGER IF EXISTS reports_milestones_deals_updated ON leads_opportunity;
DROP TRIGGER IF EXISTS reports_milestones_deals_deleted ON leads_opportunity;
DROP FUNCTION IF EXISTS reports_milestones_deals_inserted(), reports_milestones_deals_updated(),
    reports_milestones_deals_deleted(), reports_milestones_deals_recompute(bigint[]);
"""


def create_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):

    dependencies = [
        ('leads', '0006_lead_stage_changed_default'),
        ('reports', '0002_lead_milestones'),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='leadmilestone',
            name='milestone_created_idx',
        ),
        migrations.AddField(
            model_name='leadmilestone',
            name='won_deals',
            field=models.PositiveSmallIntegerField(db_default=0),
        ),
        migrations.AddField(
            model_name='leadmilestone',
            name='won_revenue',
            field=models.DecimalField(db_default=0, decimal_places=2, max_digits=16),
        ),
        migrations.RunPython(create_triggers, drop_triggers),
        migrations.AddIndex(
            model_name='leadmilestone',
            index=models.Index(fields=['created_at'], include=('status', 'source', 'campaign', 'accepted_at', 'mql_at', 'sal_at', 'sql_at', 'opportunity_at', 'won_at', 'won_deals', 'won_revenue'), name='milestone_created_idx'),
        ),
    ]
