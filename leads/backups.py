"""Export and restore all data: ``manage.py backup FILE`` and ``manage.py restore FILE``.

PostgreSQL (production): ``pg_dump --format=custom`` of the whole database (schema, data,
sequences) and ``pg_restore --clean --if-exists --single-transaction`` back into the configured
database, so a failed restore changes nothing. SQLite (the embedded default): SQLite's online
backup API, a consistent copy of the file even while the app runs, copied back the same way.
Uploaded files (``MEDIA_ROOT``) are not part of it: imports keep their rows in the database.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

from django.db import connections


class BackupError(Exception):
    """A backup or restore that could not be done; the message says why."""


def _database(alias: str) -> dict[str, Any]:
    return connections[alias].settings_dict


def _engine(alias: str) -> str:
    engine = _database(alias)["ENGINE"]
    if engine.endswith("postgresql"):
        return "postgresql"
    if engine.endswith("sqlite3"):
        return "sqlite"
    raise BackupError(f"Backups support PostgreSQL and SQLite, not {engine}.")


def _pg_args_env(alias: str) -> tuple[list[str], dict[str, str]]:
    db = _database(alias)
    args = ["--dbname", db["NAME"], "--no-password"]
    if db.get("HOST"):
        args += ["--host", db["HOST"]]
    if db.get("PORT"):
        args += ["--port", str(db["PORT"])]
    if db.get("USER"):
        args += ["--username", db["USER"]]
    env = {**os.environ}
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = db["PASSWORD"]  # read by pg_dump from its environment, never on a command line
    return args, env


def _run(tool: str, args: list[str], env: dict[str, str]) -> None:
    binary = shutil.which(tool)
    if binary is None:
        raise BackupError(f"{tool} is not installed (Debian package postgresql-client).")
    result = subprocess.run([binary, *args], env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BackupError(f"{tool} failed: {result.stderr.strip()[-2000:]}")


def database_backup(*, path: Path, alias: str = "default") -> Path:
    """Write every table of the database to ``path`` (PostgreSQL custom format, or an SQLite file)."""
    path = Path(path)
    if path.exists() and path.is_dir():
        raise BackupError(f"{path} is a directory; give a file name.")
    partial = path.with_name(path.name + ".partial")
    if _engine(alias) == "postgresql":
        args, env = _pg_args_env(alias)
        _run("pg_dump", ["--format=custom", "--no-owner", "--no-privileges", "--file", str(partial), *args], env)
    else:
        source = sqlite3.connect(_database(alias)["NAME"])
        target = sqlite3.connect(partial)
        try:
            source.backup(target)
        finally:
            target.close()
            source.close()
    partial.replace(path)  # a backup file is complete or absent, never half-written
    return path


def database_restore(*, path: Path, alias: str = "default") -> None:
    """Replace every table of the database with the backup at ``path``."""
    path = Path(path)
    if not path.is_file():
        raise BackupError(f"No backup file at {path}.")
    connections[alias].close()
    if _engine(alias) == "postgresql":
        args, env = _pg_args_env(alias)
        restore = ["--clean", "--if-exists", "--no-owner", "--no-privileges", "--single-transaction", "--exit-on-error"]
        _run("pg_restore", [*restore, *args, str(path)], env)
    else:
        try:
            source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            source.execute("PRAGMA schema_version").fetchone()
        except sqlite3.DatabaseError as exc:
            raise BackupError(f"{path} is not an SQLite backup: {exc}") from exc
        target = sqlite3.connect(_database(alias)["NAME"])
        try:
            source.backup(target)
        finally:
            target.close()
            source.close()
