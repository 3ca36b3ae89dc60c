"""A readable timeline of a record's history: who, when, why, and which fields changed."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.utils import timezone

from pilots.rules import format_cn_date

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


def _display(record, name: str) -> str:
    model_field = record.instance_type._meta.get_field(name)
    value = getattr(record, name if not model_field.is_relation else f"{name}_id", None)
    if model_field.choices:
        return str(dict(model_field.flatchoices).get(value, value or ""))
    if value is None or value == "":
        return "—"
    if isinstance(value, dt.datetime):
        return (
            timezone.localtime(value).strftime("%Y-%m-%d %H:%M")
            if timezone.is_aware(value)
            else value.strftime("%Y-%m-%d %H:%M")
        )
    if isinstance(value, dt.date):
        return format_cn_date(value)
    return str(value)


def _m2m_names(rows, names: dict[int, str] | None) -> str:
    names = names or {}
    ids = [row.get("organisation") if isinstance(row, dict) else row for row in rows or []]
    return "、".join(names.get(i, str(i)) for i in ids) or "—"


def entries_for(
    records, *, subject: str, relation_names: dict[int, str] | None = None
) -> list[Entry]:
    """Turn one object's historical records (any order) into entries, oldest first."""
    ordered = sorted(records, key=lambda r: (r.history_date, r.history_id))
    out: list[Entry] = []
    previous = None
    for record in ordered:
        changes: list[Change] = []
        if previous is not None:
            delta = record.diff_against(previous, foreign_keys_are_objs=False)
            for change in delta.changes:
                if change.field in SKIP_FIELDS:
                    continue
                model_field = record.instance_type._meta.get_field(change.field)
                label = str(model_field.verbose_name)
                if model_field.many_to_many:
                    changes.append(
                        Change(
                            label,
                            _m2m_names(change.old, relation_names),
                            _m2m_names(change.new, relation_names),
                        )
                    )
                elif model_field.is_relation:
                    names = relation_names or {}
                    changes.append(
                        Change(
                            label,
                            names.get(change.old, str(change.old or "—")),
                            names.get(change.new, str(change.new or "—")),
                        )
                    )
                else:
                    changes.append(
                        Change(
                            label, _display(previous, change.field), _display(record, change.field)
                        )
                    )
        user = record.history_user
        out.append(
            Entry(
                when=record.history_date,
                who=(user.display_name or user.username) if user else "系统",
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
            last.changes.extend(entry.changes)
            continue
        merged.append(entry)
    return merged
