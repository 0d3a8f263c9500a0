"""Accepted leads kept their accept deadline, so the queue showed them "Overdue": an accepted lead's
timer is its next SLA (the first touch, set from now on when a lead is accepted), so the old one goes."""

from django.db import migrations


def drop_met_accept_timers(apps, schema_editor):
    Lead = apps.get_model("leads", "Lead")
    Lead.objects.filter(accepted_at__isnull=False, sla_due_at__isnull=False).update(sla_due_at=None)


class Migration(migrations.Migration):
    dependencies = [("routing", "0004_sla_breaches_notifications_availability"), ("leads", "0004_rescore_plan")]

    operations = [migrations.RunPython(drop_met_accept_timers, migrations.RunPython.noop)]
