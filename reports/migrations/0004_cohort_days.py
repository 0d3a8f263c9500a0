"""The roll-ups of the milestone table (``CohortDay``, ``DurationDay``, ``RepDay``) and the milestone columns they
need; ``0005`` adds their triggers and fills them."""
import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('leads', '0008_lead_search_trigram'),
        ('reports', '0003_milestone_won_deals'),
    ]

    operations = [
        migrations.AddField(
            model_name='leadmilestone',
            name='assigned_at',
            field=models.DateTimeField(null=True),
        ),
        migrations.AddField(
            model_name='leadmilestone',
            name='owner_id',
            field=models.BigIntegerField(null=True),
        ),
        migrations.AddField(
            model_name='leadmilestone',
            name='rejected_duplicate',
            field=models.PositiveSmallIntegerField(db_default=0),
        ),
        migrations.AddField(
            model_name='leadmilestone',
            name='rejected_junk',
            field=models.PositiveSmallIntegerField(db_default=0),
        ),
        migrations.AddField(
            model_name='leadmilestone',
            name='rejected_not_a_fit',
            field=models.PositiveSmallIntegerField(db_default=0),
        ),
        migrations.AddField(
            model_name='leadmilestone',
            name='rejected_not_ready',
            field=models.PositiveSmallIntegerField(db_default=0),
        ),
        migrations.AddField(
            model_name='leadmilestone',
            name='rejected_wrong_territory',
            field=models.PositiveSmallIntegerField(db_default=0),
        ),
        migrations.AddField(
            model_name='leadmilestone',
            name='sla_due_at',
            field=models.DateTimeField(null=True),
        ),
        migrations.AddField(
            model_name='leadmilestone',
            name='stage',
            field=models.CharField(db_default='', max_length=20),
        ),
        migrations.CreateModel(
            name='DurationDay',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('day', models.DateField()),
                ('step', models.CharField(max_length=12)),
                ('bucket', models.IntegerField()),
                ('leads', models.IntegerField(db_default=0)),
            ],
            options={
                'ordering': ['day', 'step', 'bucket'],
                'indexes': [models.Index(fields=['day'], name='durationday_day_idx')],
            },
        ),
        migrations.CreateModel(
            name='RepDay',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('day', models.DateField()),
                ('owner_id', models.BigIntegerField()),
                ('assigned', models.IntegerField(db_default=0)),
                ('accepted', models.IntegerField(db_default=0)),
            ],
            options={
                'ordering': ['day', 'owner_id'],
                'indexes': [models.Index(fields=['day'], name='repday_day_idx')],
            },
        ),
        migrations.CreateModel(
            name='CohortDay',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('day', models.DateField()),
                ('leads', models.IntegerField(db_default=0)),
                ('accepted', models.IntegerField(db_default=0)),
                ('mql', models.IntegerField(db_default=0)),
                ('sal', models.IntegerField(db_default=0)),
                ('sql', models.IntegerField(db_default=0)),
                ('opportunity', models.IntegerField(db_default=0)),
                ('won', models.IntegerField(db_default=0)),
                ('won_deals', models.IntegerField(db_default=0)),
                ('won_revenue', models.DecimalField(db_default=0, decimal_places=2, max_digits=18)),
                ('in_new', models.IntegerField(db_default=0)),
                ('in_nurture', models.IntegerField(db_default=0)),
                ('in_mql', models.IntegerField(db_default=0)),
                ('in_sal', models.IntegerField(db_default=0)),
                ('in_sql', models.IntegerField(db_default=0)),
                ('in_opportunity', models.IntegerField(db_default=0)),
                ('mql_sla_open', models.IntegerField(db_default=0)),
                ('rejected_wrong_territory', models.IntegerField(db_default=0)),
                ('rejected_not_a_fit', models.IntegerField(db_default=0)),
                ('rejected_duplicate', models.IntegerField(db_default=0)),
                ('rejected_junk', models.IntegerField(db_default=0)),
                ('rejected_not_ready', models.IntegerField(db_default=0)),
                ('campaign', models.ForeignKey(db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='leads.campaign')),
                ('source', models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='leads.source')),
            ],
            options={
                'ordering': ['day', 'source_id', 'campaign_id'],
                'indexes': [models.Index(fields=['day'], name='cohortday_day_idx')],
            },
        ),
    ]
