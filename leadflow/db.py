"""Database helpers the ORM lacks."""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from django.db import connections, models

_TEXT = (models.CharField, models.TextField, models.EmailField, models.SlugField, models.URLField)
_INTEGER = (models.IntegerField, models.PositiveIntegerField, models.PositiveSmallIntegerField,
            models.SmallIntegerField, models.BigIntegerField, models.AutoField, models.BigAutoField)  # fmt: skip
#: Value types each field class would send to PostgreSQL unchanged (Django converts them to themselves).
_AS_IS: dict[type[models.Field], frozenset[type]] = {
    **dict.fromkeys(_TEXT, frozenset({str, type(None)})),
    **dict.fromkeys(_INTEGER, frozenset({int, type(None)})),
    models.ForeignKey: frozenset({int, type(None)}),
    models.OneToOneField: frozenset({int, type(None)}),
    models.BooleanField: frozenset({bool}),
    models.FloatField: frozenset({float, type(None)}),
    models.UUIDField: frozenset({uuid.UUID, type(None)}),
}


def bulk_update_rows(objs: Sequence[models.Model], fields: Sequence[str], *, batch_size: int = 1000) -> int:
    """Write ``fields`` of ``objs`` back in one statement per batch.

    Django's ``bulk_update`` builds a ``CASE WHEN id=... THEN ...`` per field and row, which costs
    about 0.7 ms a row on PostgreSQL; the pipeline updates hundreds of thousands of rows, so on
    PostgreSQL this joins against a ``VALUES`` list instead (about 20x faster). Other databases use
    ``bulk_update``. Returns the number of rows written.
    """
    if not objs:
        return 0
    model = type(objs[0])
    db = model.objects.db
    connection = connections[db]
    if connection.vendor != "postgresql":
        return model.objects.bulk_update(objs, fields, batch_size=batch_size)
    meta = model._meta
    pk = meta.pk
    columns = [meta.get_field(name) for name in fields]
    table = connection.ops.quote_name(meta.db_table)
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(f.column)} = v.{quote(f.column)}" for f in columns)
    names = ", ".join(quote(f.column) for f in [pk, *columns])
    casts = ", ".join(f"%s::{f.db_type(connection)}" for f in [pk, *columns])
    written = 0
    with connection.cursor() as cursor:
        for start in range(0, len(objs), batch_size):
            batch = objs[start : start + batch_size]
            params: list[object] = []
            for obj in batch:
                params.append(pk.get_db_prep_value(obj.pk, connection))
                for f in columns:
                    params.append(f.get_db_prep_save(getattr(obj, f.attname), connection))
            values = ", ".join([f"({casts})"] * len(batch))
            cursor.execute(
                f"UPDATE {table} AS t SET {assignments} FROM (VALUES {values}) AS v({names}) "
                f"WHERE t.{quote(pk.column)} = v.{quote(pk.column)}",
                params,
            )
            written += cursor.rowcount
    return written


def bulk_insert_rows(objs: Sequence[models.Model], *, batch_size: int = 5000) -> None:
    """Insert new model instances and set their primary keys, like ``bulk_create`` (no signals).

    On PostgreSQL the rows go in with ``COPY`` after their ids are drawn from the table's
    sequence in one query: ``bulk_create`` there sends every value through an ``UNNEST`` array,
    whose per-value quoting costs more than everything else an import does with a row. Other
    databases use ``bulk_create``.
    """
    if not objs:
        return
    model = type(objs[0])
    connection = connections[model.objects.db]
    if connection.vendor != "postgresql":
        model.objects.bulk_create(objs, batch_size=batch_size)
        return
    meta = model._meta
    pk = meta.pk
    quote = connection.ops.quote_name
    fields = list(meta.concrete_fields)
    for obj in objs:
        obj._prepare_related_fields_for_save(operation_name="bulk_insert_rows")  # lead=lead -> lead_id
    with connection.cursor() as cursor:
        missing = [obj for obj in objs if obj.pk is None]
        if missing:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [meta.db_table, pk.column, len(missing)],
            )
            for obj, (new_id,) in zip(missing, cursor.fetchall(), strict=True):
                obj.pk = new_id
        columns = ", ".join(quote(f.column) for f in fields)
        copy_sql = f"COPY {quote(meta.db_table)} ({columns}) FROM STDIN"
        values = [_column_value(f, connection) for f in fields]
        for start in range(0, len(objs), batch_size):
            # The raw psycopg cursor: errors are mapped to Django's (IntegrityError...) by hand.
            with connection.wrap_database_errors, cursor.cursor.copy(copy_sql) as copy:
                for obj in objs[start : start + batch_size]:
                    copy.write_row([value(obj) for value in values])
    for obj in objs:
        obj._state.adding = False
        obj._state.db = model.objects.db


def _column_value(field: models.Field, connection: Any) -> Callable[[models.Model], Any]:
    """What ``bulk_insert_rows`` writes in ``field``'s column for an object: Django's own
    ``get_db_prep_save(pre_save(...))``, skipped for values it would return unchanged (a str in a
    CharField, an int in a ForeignKey, an aware datetime): those calls cost more than the ``COPY``."""
    attname = field.attname
    as_is = _AS_IS.get(type(field))
    if isinstance(field, models.DateTimeField) and type(field) is models.DateTimeField:
        if field.auto_now or field.auto_now_add:
            return lambda obj: field.get_db_prep_save(field.pre_save(obj, add=True), connection)

        def timestamp(obj: models.Model) -> Any:
            value = getattr(obj, attname)
            if value is None or (type(value) is datetime.datetime and value.tzinfo is not None):
                return value  # PostgreSQL's adapt_datetimefield_value returns an aware datetime as it is
            return field.get_db_prep_save(value, connection)

        return timestamp
    if as_is is None:
        return lambda obj: field.get_db_prep_save(field.pre_save(obj, add=True), connection)

    def plain(obj: models.Model) -> Any:
        value = getattr(obj, attname)
        return value if type(value) in as_is else field.get_db_prep_save(value, connection)

    return plain
