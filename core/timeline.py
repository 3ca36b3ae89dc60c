"""A readable timeline of a record's history: who, when, why, and which fields changed."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db import models
from simple_history.utils import get_m2m_reverse_field_name

from core.dates import format_cn_date, format_cn_datetime

HISTORY_TYPES = {"+": "创建", "~": "修改", "-": "删除"}
SKIP_FIELDS = {"updated_at", "created_at"}


@dataclass
class Change:
    label: str
    old: str
    new: str


@dataclass
class Entry:
    when: object
    who: str
    reason: str
    kind: str
    subject: str
    changes: list[Change] = field(default_factory=list)


EMPTY = "—"


def file_label(name) -> str:
    """A stored file as the reader knows it: its own name, never the storage path
    ("filings/P-2026-001/v1/方案.pdf" → "方案.pdf"); "已上传文件" when the name is lost."""
    name = str(getattr(name, "name", name) or "")
    if not name:
        return EMPTY
    return name.replace("\\", "/").rsplit("/", 1)[-1] or "已上传文件"


def _display(record, name: str) -> str:
    model_field = record.instance_type._meta.get_field(name)
    value = getattr(record, name if not model_field.is_relation else f"{name}_id", None)
    if value is None or value == "":
        return EMPTY
    if isinstance(model_field, models.FileField):
        return file_label(value)
    if model_field.choices:
        return str(dict(model_field.flatchoices).get(value, value))
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, dt.datetime):
        return format_cn_datetime(value)
    if isinstance(value, dt.date):
        return format_cn_date(value)
    return str(value)


def _who(user) -> str:
    """The person by name and unit (周立群（省生态环境厅）); the system for scheduled work."""
    if user is None:
        return "系统"
    shown = getattr(user, "display_with_unit", None)
    return shown() if shown is not None else str(user)


def _people(records) -> dict[int, str]:
    """Each author of `records` by name and unit: one query, whatever the history's length."""
    ids = {r.history_user_id for r in records if r.history_user_id}
    if not ids:
        return {}
    user_model = type(records[0])._meta.get_field("history_user").related_model
    related = ["organisation__parent"] if hasattr(user_model, "organisation") else []
    users = user_model.objects.select_related(*related).in_bulk(ids)
    return {pk: _who(user) for pk, user in users.items()}


def _m2m_names(rows, names: dict[int, str] | None) -> str:
    names = names or {}
    ids = [row.get("organisation") if isinstance(row, dict) else row for row in rows or []]
    return "、".join(names.get(i, str(i)) for i in ids) or "—"


def m2m_rows(records) -> dict[str, dict[int, list[dict]]]:
    """Each many-to-many field's rows for every one of `records` (historical records of one
    model), by field name and history id: one query per field. diff_against would run two
    per field for every pair of records, so a page would grow with the history."""
    records = list(records)
    if not records:
        return {}
    first = records[0]
    out: dict[str, dict[int, list[dict]]] = {}
    for model_field in first._history_m2m_fields:
        through = getattr(first, model_field.name).model
        reverse = get_m2m_reverse_field_name(model_field)
        columns = [
            f.name
            for f in through._meta.fields
            if f.editable and f.name not in ("id", "m2m_history_id", "history")
        ]
        by_record: dict[int, list[dict]] = {r.history_id: [] for r in records}
        rows = through.objects.filter(history__in=list(by_record)).order_by(reverse)
        for row in rows.values("history", *columns):
            by_record[row.pop("history")].append(row)
        out[model_field.name] = by_record
    return out


def entries_for(
    records,
    *,
    subject: str,
    relation_names: dict[int, str] | None = None,
    m2m: dict[str, dict[int, list[dict]]] | None = None,
    m2m_names: dict[str, dict[int, str]] | None = None,
) -> list[Entry]:
    """Turn one object's historical records (any order) into entries, oldest first.
    `m2m` is `m2m_rows(records)` when the caller already has it. A many-to-many field's
    rows are named from `m2m_names[field]` when given (a pilot's regions as places, not as
    the bureaus the foreign keys name), else from `relation_names`."""
    ordered = sorted(records, key=lambda r: (r.history_date, r.history_id))
    if m2m is None:
        m2m = m2m_rows(ordered)
    people = _people(ordered)
    out: list[Entry] = []
    previous = None
    for record in ordered:
        changes: list[Change] = []
        if previous is not None:
            delta = record.diff_against(
                previous, excluded_fields=set(m2m), foreign_keys_are_objs=False
            )
            delta_changes = [(c.field, c.old, c.new) for c in delta.changes]
            for name, rows in m2m.items():
                old, new = rows[previous.history_id], rows[record.history_id]
                if old != new:
                    delta_changes.append((name, old, new))
            for field_name, old, new in sorted(delta_changes, key=lambda c: c[0]):
                if field_name in SKIP_FIELDS:
                    continue
                model_field = record.instance_type._meta.get_field(field_name)
                label = str(model_field.verbose_name)
                if model_field.many_to_many:
                    changes.append(
                        Change(
                            label,
                            _m2m_names(old, (m2m_names or {}).get(field_name, relation_names)),
                            _m2m_names(new, (m2m_names or {}).get(field_name, relation_names)),
                        )
                    )
                elif model_field.is_relation:
                    names = relation_names or {}
                    changes.append(
                        Change(
                            label,
                            names.get(old, str(old or "—")),
                            names.get(new, str(new or "—")),
                        )
                    )
                else:
                    changes.append(
                        Change(label, _display(previous, field_name), _display(record, field_name))
                    )
        out.append(
            Entry(
                when=record.history_date,
                who=people.get(record.history_user_id, "系统"),
                reason=record.history_change_reason or "",
                kind=HISTORY_TYPES.get(record.history_type, record.history_type),
                subject=subject,
                changes=changes,
            )
        )
        previous = record
    return _merge_same_action(out)


def _merge_same_action(entries: list[Entry]) -> list[Entry]:
    """One action can write several history rows (the row, then each many-to-many set);
    show them as one entry when the same person gave the same reason within two seconds."""
    merged: list[Entry] = []
    for entry in entries:
        last = merged[-1] if merged else None
        if (
            last is not None
            and last.who == entry.who
            and last.reason == entry.reason
            and last.subject == entry.subject
            and (entry.when - last.when).total_seconds() <= 2
        ):
            # A field changed twice in one action (a many-to-many set cleared, then filled)
            # shows once: from its first value to its last.
            for change in entry.changes:
                same = next((c for c in last.changes if c.label == change.label), None)
                if same is None:
                    last.changes.append(change)
                else:
                    same.new = change.new
            last.changes = [c for c in last.changes if c.old != c.new]
            continue
        merged.append(entry)
    return merged
