"""Recording a change in a record's history: who made it and why.

simple-history reads the actor and the reason from two attributes of the instance being
saved; every domain function goes through `save_with_history` (or `mark` before a bulk,
m2m or queryset write) so that no change is recorded without them."""

from __future__ import annotations


def mark(obj, *, actor, reason: str):
    """Set the actor and the reason the next history row of `obj` records; returns `obj`.
    An empty reason records none; a long one is kept whole (the history's reason column is
    text), so a correction's or an account change's reason is never cut."""
    obj._history_user = actor
    obj._change_reason = reason or None
    return obj


def _has_updated_at(obj) -> bool:
    return any(f.name == "updated_at" for f in obj._meta.concrete_fields)


def save_with_history(obj, *, actor, reason: str, update_fields=None) -> None:
    """Save `obj`, recording `actor` and `reason` in its history. When `update_fields` is
    given and the model has an `updated_at` (auto_now), it is saved too, so that a partial
    save still dates the change."""
    mark(obj, actor=actor, reason=reason)
    if update_fields is None:
        obj.save()
        return
    fields = list(update_fields)
    if "updated_at" not in fields and _has_updated_at(obj):
        fields.append("updated_at")
    obj.save(update_fields=fields)
