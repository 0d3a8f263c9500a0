"""``manage.py backup`` and ``restore``: a database with leads, merges, definitions and users goes
out to a file and comes back exactly, table by table (PostgreSQL: pg_dump / pg_restore)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import connection

from dedupe.models import Merge
from dedupe.services import lead_merge
from leads.models import Activity, AuditEvent, Lead, LeadDefinition
from leads.services import audit_record
from tests.factories import (
    ActivityFactory,
    LeadDefinitionFactory,
    LeadFactory,
    RepFactory,
    SourceFactory,
    TerritoryFactory,
    UserFactory,
)
from tests.test_settings import manage

pytestmark = pytest.mark.django_db(transaction=True)


def table_digests() -> dict[str, tuple[int, str]]:
    """Every table's row count and an MD5 of all its rows, in a fixed order."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")
        tables = [row[0] for row in cursor.fetchall()]
        digests = {}
        for table in tables:
            rows = "coalesce(string_agg(t::text, '|' ORDER BY t::text), '')"
            cursor.execute(f'SELECT count(*), md5({rows}) FROM "{table}" t')
            digests[table] = cursor.fetchone()
        cursor.execute("SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = 'public'")
        digests.update({f"seq:{name}": (value or 0, "") for name, value in cursor.fetchall()})
    return digests


def some_data() -> None:
    marketer = UserFactory(username="mara", roles=["marketing"])
    RepFactory(user__username="rick")
    TerritoryFactory(slug="emea")
    LeadDefinitionFactory()
    source = SourceFactory(slug="web")
    old = LeadFactory(source=source, email="ann@acme.example", first_name="Ann", city="Zürich")
    new = LeadFactory(source=source, email="ann@acme.example", first_name="Ann")
    ActivityFactory(lead=old)
    lead_merge(survivor=old, merged=new, actor=marketer)
    audit_record(actor=marketer, action="lead.update", obj=old, changes={"city": ["", "Zürich"]})


def test_a_backup_restores_every_table_exactly(tmp_path: Path):
    some_data()
    before = table_digests()
    assert Merge.objects.count() == 1
    backup = tmp_path / "leadflow.dump"
    out = io.StringIO()

    call_command("backup", str(backup), stdout=out)
    # Everything changes after the backup: rows deleted, changed and added.
    Activity.objects.all().delete()
    Lead.objects.update(city="changed after the backup")
    LeadFactory(email="new@after.example")
    LeadDefinition.objects.update(note="changed after the backup")
    UserFactory(username="intruder")
    AuditEvent.objects.all().delete()
    assert table_digests() != before
    call_command("restore", str(backup), "--yes", stdout=out)

    assert table_digests() == before
    assert "Backup written to" in out.getvalue()
    assert "Restored" in out.getvalue()
    assert get_user_model().objects.filter(username="intruder").count() == 0
    assert Merge.objects.get().survivor.city == "Zürich"


def test_restore_asks_for_confirmation_and_changes_nothing_without_it(tmp_path: Path):
    some_data()
    backup = tmp_path / "leadflow.dump"
    call_command("backup", str(backup), stdout=io.StringIO())
    before = table_digests()

    with pytest.raises(CommandError, match="pass --yes"):
        call_command("restore", str(backup), "--no-input")

    assert table_digests() == before


def test_a_missing_or_broken_backup_is_refused_and_nothing_changes(tmp_path: Path):
    some_data()
    before = table_digests()
    broken = tmp_path / "broken.dump"
    broken.write_bytes(b"not a backup")

    with pytest.raises(CommandError, match="No backup file"):
        call_command("restore", str(tmp_path / "missing.dump"), "--yes")
    with pytest.raises(CommandError, match="pg_restore failed"):
        call_command("restore", str(broken), "--yes")

    assert table_digests() == before


def test_on_the_sqlite_default_a_backup_round_trips_too(tmp_path: Path):
    env = {"DEBUG": "true", "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    count_users = "from django.contrib.auth.models import User; print(User.objects.count())"
    assert manage("migrate", "--no-input", env=env).returncode == 0
    manage("shell", "-c", "from django.contrib.auth.models import User; User.objects.create(username='ann')", env=env)

    backup = manage("backup", str(tmp_path / "backup.sqlite3"), env=env)
    manage("shell", "-c", "from django.contrib.auth.models import User; User.objects.all().delete()", env=env)
    emptied = manage("shell", "-c", count_users, env=env).stdout.split()[-1]
    restore = manage("restore", str(tmp_path / "backup.sqlite3"), "--yes", env=env)

    assert backup.returncode == 0, backup.stderr
    assert restore.returncode == 0, restore.stderr
    assert emptied == "0"
    assert manage("shell", "-c", count_users, env=env).stdout.split()[-1] == "1"
