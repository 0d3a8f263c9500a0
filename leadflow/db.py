"""Database helpers the ORM lacks."""

from __future__ import annotations

import copy
import datetime
import functools
import json
import operator
import uuid
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from typing import Any

from django.db import connection, connections, models
from django.db.models.expressions import RawSQL

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


def json_in(values: Iterable[Any], *, cast: str = "") -> Any:
    """``values`` for an ``__in`` filter: on PostgreSQL one JSON parameter unpacked by the server (``cast``
    to the column's type, e.g. ``"bigint"``), not one quoted parameter per value, which psycopg parses
    anew for each statement (an import chunk filters by hundreds or thousands). Elsewhere a list."""
    if connection.vendor != "postgresql":
        return list(values)
    unpacked = f"json_array_elements_text(%s::json)::{cast}" if cast else "json_array_elements_text(%s::json)"
    return RawSQL(f"SELECT {unpacked}", [json.dumps(sorted(values))])


def bulk_update_rows(objs: Sequence[models.Model], fields: Sequence[str], *, batch_size: int = 1000) -> int:
    """Write ``fields`` of ``objs`` back in one statement per batch.

    Django's ``bulk_update`` builds a ``CASE WHEN id=... THEN ...`` per field and row, which costs
    about 0.7 ms a row on PostgreSQL; the pipeline updates hundreds of thousands of rows, so on
    PostgreSQL this joins against the rows sent as one JSON document (``json_populate_recordset``
    with the table's own row type, so PostgreSQL converts each value to its column's type), not a
    ``VALUES`` list of thousands of parameters that psycopg and the server both parse one by one.
    Other databases use ``bulk_update``. Returns the number of rows written.
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
    if not all(_json_ready(f) for f in [pk, *columns]):
        return sum(
            _bulk_update_values(objs[start : start + batch_size], columns, connection)
            for start in range(0, len(objs), batch_size)
        )
    table = connection.ops.quote_name(meta.db_table)
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(f.column)} = v.{quote(f.column)}" for f in columns)
    pairs = [(f.column, f.attname) for f in [pk, *columns]]
    written = 0
    with connection.cursor() as cursor:
        for start in range(0, len(objs), batch_size):
            rows = [
                {column: getattr(obj, attname) for column, attname in pairs} for obj in objs[start : start + batch_size]
            ]
            cursor.execute(
                f"UPDATE {table} AS t SET {assignments} FROM json_populate_recordset(NULL::{table}, %s::json) AS v "
                f"WHERE t.{quote(pk.column)} = v.{quote(pk.column)}",
                [json.dumps(rows, default=_json_value)],
            )
            written += cursor.rowcount
    return written


#: Field classes whose values go to ``json_populate_recordset`` as JSON and come out as they went in.
_JSON_READY = frozenset({*_TEXT, *_INTEGER, models.ForeignKey, models.BooleanField, models.DateTimeField,
                         models.DateField, models.UUIDField, models.JSONField})  # fmt: skip


def _json_ready(field: models.Field) -> bool:
    # Exact classes (a subclass may store its values its own way); a JSON column with its own encoder
    # keeps the ``VALUES`` path, where that encoder writes it.
    return type(field) in _JSON_READY and getattr(field, "encoder", None) is None


def _json_value(value: Any) -> Any:
    """A value ``json`` cannot write, as text PostgreSQL reads back exactly (full microseconds, unlike
    ``DjangoJSONEncoder``)."""
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    if isinstance(value, uuid.UUID | Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _bulk_update_values(objs: Sequence[models.Model], columns: Sequence[models.Field], connection: Any) -> int:
    """``bulk_update_rows`` for fields JSON cannot carry as they are: a ``VALUES`` list of parameters."""
    meta = type(objs[0])._meta
    pk = meta.pk
    quote = connection.ops.quote_name
    table = quote(meta.db_table)
    assignments = ", ".join(f"{quote(f.column)} = v.{quote(f.column)}" for f in columns)
    names = ", ".join(quote(f.column) for f in [pk, *columns])
    casts = ", ".join(f"%s::{f.db_type(connection)}" for f in [pk, *columns])
    params: list[object] = []
    for obj in objs:
        params.append(pk.get_db_prep_value(obj.pk, connection))
        for f in columns:
            params.append(f.get_db_prep_save(getattr(obj, f.attname), connection))
    values = ", ".join([f"({casts})"] * len(objs))
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} AS t SET {assignments} FROM (VALUES {values}) AS v({names}) "
            f"WHERE t.{quote(pk.column)} = v.{quote(pk.column)}",
            params,
        )
        return cursor.rowcount


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
    # A related object given without its id (lead=lead, the lead saved since): Django copies its id
    # (or refuses an unsaved one). Checked here first: most rows have every id set already.
    relations = [(f.name, f.attname) for f in meta.concrete_fields if f.is_relation]
    for obj in objs:
        cache = obj._state.fields_cache
        if cache and any(
            (related := cache.get(name)) is not None and (related.pk is None or obj.__dict__.get(attname) is None)
            for name, attname in relations
        ):
            obj._prepare_related_fields_for_save(operation_name="bulk_insert_rows")
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
        row_of = _row_maker(fields, connection)
        for start in range(0, len(objs), batch_size):
            # The raw psycopg cursor: errors are mapped to Django's (IntegrityError...) by hand.
            with connection.wrap_database_errors, cursor.cursor.copy(copy_sql) as copy:
                for obj in objs[start : start + batch_size]:
                    copy.write_row(row_of(obj))
    for obj in objs:
        obj._state.adding = False
        obj._state.db = model.objects.db


def _row_maker(fields: Sequence[models.Field], connection: Any) -> Callable[[models.Model], list[Any]]:
    """A function giving an object's row for ``COPY``: every column's value as ``_column_value`` has it,
    read from the instance's ``__dict__`` in one go, with a call per column only where the value needs
    converting (a lead has sixty columns; a call for each costs more than its share of the ``COPY``)."""
    converters = [_column_value(f, connection) for f in fields]
    if len(fields) < 2:
        return lambda obj: [convert(obj) for convert in converters]
    read = operator.itemgetter(*[f.attname for f in fields])
    typed = [(n, as_is, convert) for n, (f, convert) in enumerate(zip(fields, converters, strict=True))
             if (as_is := _AS_IS.get(type(f))) is not None]  # fmt: skip
    others = [(n, convert) for n, (f, convert) in enumerate(zip(fields, converters, strict=True))
              if type(f) not in _AS_IS]  # fmt: skip

    def row_of(obj: models.Model) -> list[Any]:
        try:
            row = list(read(obj.__dict__))
        except KeyError:  # a deferred column: through the descriptors
            return [convert(obj) for convert in converters]
        for n, as_is, convert in typed:
            if type(row[n]) not in as_is:
                row[n] = convert(obj)
        for n, convert in others:
            row[n] = convert(obj)
        return row

    return row_of


def _column_value(field: models.Field, connection: Any) -> Callable[[models.Model], Any]:
    """What ``bulk_insert_rows`` writes in ``field``'s column for an object: Django's own
    ``get_db_prep_save(pre_save(...))``, skipped for values it would return unchanged (a str in a
    CharField, an int in a ForeignKey, an aware datetime): those calls cost more than the ``COPY``."""
    attname = field.attname
    as_is = _AS_IS.get(type(field))
    if type(field) is models.JSONField:
        # The JSON text itself (what Django's adapter would send), not a ``Jsonb`` wrapper per value.
        encoder = field.encoder

        def as_json(obj: models.Model) -> Any:
            value = getattr(obj, attname)
            return None if value is None else json.dumps(value, cls=encoder)

        return as_json
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


def instances_like(template: models.Model, count: int) -> list[models.Model]:
    """``count`` new unsaved instances of ``template``'s model with its field values (and its cached
    related objects), made without ``Model.__init__``.

    ``__init__`` sets each field through its descriptor and sends two signals: about 60 µs for a
    lead, more than the rest of its import. Here each copy is its template's ``__dict__`` with a state
    of its own, its own copy of every JSON value (so changing one copy's dict changes no other), and
    a new primary key where the key has a default (a UUID). Only for models without ``pre_init`` or
    ``post_init`` receivers, which this skips.
    """
    model = type(template)
    meta = model._meta
    values = {name: value for name, value in template.__dict__.items() if name != "_state"}
    json_names = [f.attname for f in meta.concrete_fields if isinstance(f, models.JSONField)]
    pk = meta.pk
    new_pk = pk.default if pk.has_default() and callable(pk.default) else None
    # A copy of each JSON value per instance: an empty dict or list made anew, anything else deep-copied.
    copiers = [(name, _json_copier(values[name])) for name in json_names]
    cached = template._state.fields_cache
    made = []
    for _ in range(count):
        obj = model.__new__(model)
        state = models.base.ModelState()
        state.fields_cache = dict(cached)
        obj.__dict__.update(values)
        obj._state = state
        for name, fresh in copiers:
            obj.__dict__[name] = fresh()
        if new_pk is not None:
            obj.__dict__[pk.attname] = new_pk()
        made.append(obj)
    return made


def _json_copier(value: Any) -> Callable[[], Any]:
    if type(value) in (dict, list) and not value:
        return type(value)
    if value is None or type(value) in (str, int, float, bool):
        return lambda: value
    return functools.partial(copy.deepcopy, value)
