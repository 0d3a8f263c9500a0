"""Covering indexes for the reports' cohort scans (PostgreSQL only; SQLite keeps the plain ones).

Every report starts from "the active leads created in the date range", then joins the stage
changes, rejections and opportunities of those leads. These indexes hold every column those
queries read, so PostgreSQL answers them with index-only scans instead of visiting a million
wide lead rows. They live here, beside the queries that need them, rather than on the models.
"""

from django.db import migrations

INDEXES = {
    "reports_lead_cohort_idx": (
        "leads_lead",
        "(created_at) INCLUDE (id, status, source_id, campaign_id, stage, owner_id, assigned_at, accepted_at, "
        "stage_changed_at, sla_due_at)",
    ),
    "reports_stagechange_time_idx": ("leads_stagechange", "(created_at) INCLUDE (lead_id, to_stage)"),
}


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, (table, columns) in INDEXES.items():
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {table} {columns}")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("leads", "0005_lifecycle")]

    operations = [migrations.RunPython(create, drop)]
