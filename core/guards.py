"""The last check before a text reaches the database: no control character is stored.

The request edge refuses control characters everywhere but in the values of a page's form,
which its form field refuses beside the field (core/forms.py). A value a view reads without
such a field, or a form that does not check it, is refused here when a domain change
(`core.history.save_with_history` / `mark`) would write it, with the same message under the
field's name — the domain function's caller shows it like any other of its errors, and
nothing is saved."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.signals import pre_save

from core.text import has_control_in_text

MESSAGE = "含有不允许的控制字符（如 NUL），请删除后重新填写。"


def refuse_control_characters(sender, instance, raw=False, **kwargs) -> None:
    # Only a domain change (marked with its actor by core.history) is checked: the records
    # of the machinery (a failed sign-in as typed, a job's error) keep what they record.
    if raw or not hasattr(instance, "_history_user"):
        return
    errors = {}
    for field in instance._meta.concrete_fields:
        if not isinstance(field, models.CharField | models.TextField):
            continue
        value = getattr(instance, field.attname, None)
        if isinstance(value, str) and has_control_in_text(value):
            errors[field.name] = f"{field.verbose_name}{MESSAGE}"
    reason = getattr(instance, "_change_reason", None)
    if isinstance(reason, str) and has_control_in_text(reason):
        errors.setdefault("reason", f"说明{MESSAGE}")
    if errors:
        raise ValidationError(errors)


def install() -> None:
    pre_save.connect(refuse_control_characters, dispatch_uid="core.guards.control")
