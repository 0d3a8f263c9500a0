"""A finer histogram on the searched expressions, PostgreSQL only.

The planner answers a search either by walking the newest-first index until the page is full (right for a
common term) or by a bitmap scan of the trigram indexes of leads/0008 and a sort (right for a rare one). It
tells them apart by the share of rows it expects to match, counted in the histogram ``ANALYZE`` keeps for
each index's expression (``UPPER(col::text)``, what ``icontains`` compares). At the default target that
histogram has 100 entries, so a term in 0.5% of the rows ("Company 123" at a million leads) lands on 0 or 1
of them depending on the sample: estimated at 100 rows or 10,000, the same query took 49-60 ms of SQL (the
trigram scan reads the posting lists of "COM", "OMP", ... that every row has, and 6,500 rows are fetched and
sorted) or 16 ms (the walk) from one ``ANALYZE`` to the next. With 500 entries it is estimated at about
6,000 every time (5,542 companies match). ``ANALYZE leads_lead`` samples 150,000 rows instead of 30,000.
"""

from django.db import migrations

SEARCHED_FIELDS = ("first_name", "last_name", "company", "email")
STATISTICS_TARGET = 500


def _set_target(schema_editor, target: int) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for field in SEARCHED_FIELDS:
        schema_editor.execute(f'ALTER INDEX "lead_{field}_trgm_idx" ALTER COLUMN 1 SET STATISTICS {target}')
    schema_editor.execute("ANALYZE leads_lead")


def set_fine_histograms(apps, schema_editor) -> None:
    _set_target(schema_editor, STATISTICS_TARGET)


def set_default_histograms(apps, schema_editor) -> None:
    _set_target(schema_editor, -1)


class Migration(migrations.Migration):
    atomic = False  # ANALYZE in the transaction that set the target still builds the old 100-entry histogram

    dependencies = [("leads", "0012_lead_single_indexes")]

    operations = [migrations.RunPython(set_fine_histograms, set_default_histograms, elidable=False)]
