"""Inserting many rows, with their history, in a fixed number of statements.

`bulk_create` splits its rows into batches (on SQLite ~100 rows a statement, on PostgreSQL at
most 65,535 parameters a statement), so a job that records 100,000 events would issue hundreds
of statements, and simple-history's `bulk_create_with_history` as many again. Here the rows
travel as one parameter per column (PostgreSQL: arrays expanded with `unnest`) or as one JSON
document (SQLite: `json_each`), and their history rows are copied from the inserted rows by
their unique key in one `INSERT … SELECT`: two statements whatever the number of rows.
Updating many rows, each with its own values, is done the same way (`update_with_history`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from django.db import connection, models
from django.utils import timezone
from simple_history.utils import bulk_create_with_history, bulk_update_with_history


def _columns(model) -> list[models.Field]:
    return [f for f in model._meta.concrete_fields if not f.primary_key]


# Fields whose preparation for the database leaves a value of these types as it is (text,
# whole numbers, yes/no): preparing each of thousands of values one by one cost more than
# the database's work. Subclasses that prepare values their own way are not among them.
_PLAIN_TYPES = {
    models.Field.get_prep_value: (),
    models.CharField.get_prep_value: (str,),
    models.TextField.get_prep_value: (str,),
    models.IntegerField.get_prep_value: (int,),
    models.BooleanField.get_prep_value: (bool,),
}


def _plain_types(field: models.Field) -> tuple[type, ...]:
    """The value types `field` sends to the database unchanged (and NULL), if any."""
    if isinstance(field, models.ForeignKey):
        target = field.target_field
        if type(field).get_db_prep_save is not models.ForeignKey.get_db_prep_save:
            return ()
        return (int,) if isinstance(target, models.AutoField | models.BigAutoField) else ()
    kind = type(field)
    if kind.get_db_prep_save is not models.Field.get_db_prep_save or (
        kind.get_db_prep_value
        not in (models.Field.get_db_prep_value, models.IntegerField.get_db_prep_value)
    ):
        return ()
    return _PLAIN_TYPES.get(kind.get_prep_value, ())


def _values(field: models.Field, objs: Sequence[models.Model]) -> list:
    plain = _plain_types(field)
    attname, prep = field.attname, field.get_db_prep_save
    values = []
    for obj in objs:
        value = getattr(obj, attname)
        if plain and (value is None or type(value) in plain):
            values.append(value)
        else:
            values.append(prep(value, connection))
    return values


def _insert(model, objs: Sequence[models.Model]) -> None:
    fields = _columns(model)
    table = connection.ops.quote_name(model._meta.db_table)
    names = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            arrays = ", ".join(f"%s::{f.db_type(connection)}[]" for f in fields)
            cursor.execute(
                f"INSERT INTO {table} ({names}) SELECT * FROM unnest({arrays})",
                [_values(f, objs) for f in fields],
            )
        else:
            columns = [_values(f, objs) for f in fields]
            rows = [list(row) for row in zip(*columns, strict=True)]
            picks = ", ".join(f"json_extract(value, '$[{i}]')" for i in range(len(fields)))
            cursor.execute(
                f"INSERT INTO {table} ({names}) SELECT {picks} FROM json_each(%s)",
                [json.dumps(rows, ensure_ascii=False, default=str)],
            )


def _copy_history(
    model, key_field: str, keys: list, *, reason: str, user_id=None, history_type: str = "+"
) -> None:
    history = model.history.model
    main = connection.ops.quote_name(model._meta.db_table)
    hist = connection.ops.quote_name(history._meta.db_table)
    tracked = [f for f in model._meta.concrete_fields]
    names = ", ".join(connection.ops.quote_name(f.column) for f in tracked)
    key = connection.ops.quote_name(model._meta.get_field(key_field).column)
    extra = ", ".join(
        connection.ops.quote_name(c)
        for c in ("history_date", "history_change_reason", "history_type", "history_user_id")
    )
    if connection.vendor == "postgresql":
        where, param = f"{key} = ANY(%s)", keys
    else:
        where, param = f"{key} IN (SELECT value FROM json_each(%s))", json.dumps(keys)
    now = models.DateTimeField().get_db_prep_save(timezone.now(), connection)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {hist} ({names}, {extra}) "
            f"SELECT {names}, %s, %s, %s, %s FROM {main} WHERE {where}",
            [now, reason, history_type, user_id, param],
        )


def insert_with_history(
    model, objs: Sequence[models.Model], *, key_field: str, reason: str, user=None
) -> None:
    """Insert `objs` (new rows of `model`, unique by `key_field`) and one history row each
    ("+", with `reason`, by `user` when given), in two statements. Other databases than
    PostgreSQL and SQLite fall back to simple-history's batched bulk_create_with_history."""
    if not objs:
        return
    if connection.vendor not in ("postgresql", "sqlite"):
        bulk_create_with_history(list(objs), model, default_user=user, default_change_reason=reason)
        return
    _insert(model, objs)
    _copy_history(
        model,
        key_field,
        [getattr(o, key_field) for o in objs],
        reason=reason,
        user_id=getattr(user, "pk", None),
    )


def update_with_history(
    model, objs: Sequence[models.Model], fields: Sequence[str], *, reason: str
) -> None:
    """Write `fields` of `objs` (existing rows of `model`, each with its own values) and one
    history row each ("~", with `reason`), in two statements: an UPDATE … FROM the values sent
    as arrays (PostgreSQL) or one JSON document (SQLite), then the history copied from the
    updated rows. Django's bulk_update builds a CASE expression per row and field, which costs
    more than the database's work at a few thousand rows. Other databases fall back to
    simple-history's bulk_update_with_history."""
    if not objs:
        return
    if connection.vendor not in ("postgresql", "sqlite"):
        bulk_update_with_history(
            list(objs), model, list(fields), batch_size=2000, default_change_reason=reason
        )
        return
    pk = model._meta.pk
    targets = [model._meta.get_field(name) for name in fields]
    for field in targets:
        if getattr(field, "auto_now", False):
            now = timezone.now()
            for obj in objs:
                setattr(obj, field.attname, now)
    table = connection.ops.quote_name(model._meta.db_table)
    pk_col = connection.ops.quote_name(pk.column)
    sets = ", ".join(
        f"{connection.ops.quote_name(f.column)} = d.c{i}" for i, f in enumerate(targets)
    )
    columns = [pk, *targets]
    aliases = ", ".join(["pk", *(f"c{i}" for i in range(len(targets)))])
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            arrays = ", ".join(f"%s::{f.db_type(connection)}[]" for f in columns)
            cursor.execute(
                f"UPDATE {table} SET {sets} FROM unnest({arrays}) AS d({aliases}) "
                f"WHERE {table}.{pk_col} = d.pk",
                [_values(f, objs) for f in columns],
            )
        else:
            rows = [list(r) for r in zip(*(_values(f, objs) for f in columns), strict=True)]
            picks = ", ".join(
                f"json_extract(value, '$[{i}]') AS {alias}"
                for i, alias in enumerate(aliases.split(", "))
            )
            cursor.execute(
                f"UPDATE {table} SET {sets} FROM (SELECT {picks} FROM json_each(%s)) AS d "
                f"WHERE {table}.{pk_col} = d.pk",
                [json.dumps(rows, ensure_ascii=False, default=str)],
            )
    _copy_history(model, pk.name, [o.pk for o in objs], reason=reason, history_type="~")


def insert_rows(model, objs: Sequence[models.Model]) -> None:
    """Insert `objs` (a model without history) in one statement."""
    if not objs:
        return
    if connection.vendor not in ("postgresql", "sqlite"):
        model.objects.bulk_create(list(objs), batch_size=2000)
        return
    _insert(model, objs)
