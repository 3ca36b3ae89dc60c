"""Pieces every resource's serializers use: organisations by code, dates a person would type,
uploads checked like the pages' uploads, the one-line reason or note of a decision, and the
base of input serializers that describe a page's form."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from accounts.models import Organisation
from core.dates import YEAR_MAX, YEAR_MIN
from pilots.uploads import validate_attachment

ORG = {"slug_field": "code", "read_only": True}


def record_fields(*extra: str) -> list[str]:
    """The fields of a record belonging to a pilot: its id, its pilot, then `extra`."""
    return ["id", "pilot", *extra]


class DateField(serializers.DateField):
    """A date a person would type: years 2000 to 2100 (the rules add days and months to it)."""

    def to_internal_value(self, value):
        day = super().to_internal_value(value)
        if not YEAR_MIN <= day.year <= YEAR_MAX:
            raise serializers.ValidationError(f"日期须在{YEAR_MIN}年至{YEAR_MAX}年之间。")
        return day


class OrganisationCodeField(serializers.SlugRelatedField):
    """An organisation named by its code; anything that cannot be a code is refused before
    the database is asked."""

    def to_internal_value(self, data):
        if not isinstance(data, str) or not data or len(data) > 64 or "\x00" in data:
            raise serializers.ValidationError(f"单位代码无效：{str(data)[:64]!r}。")
        return super().to_internal_value(data)


def org_field(*kinds: str, many: bool = False, required: bool = True) -> OrganisationCodeField:
    """An active organisation of one of `kinds`, named by its code."""
    return OrganisationCodeField(
        slug_field="code",
        queryset=Organisation.objects.filter(kind__in=kinds, is_active=True),
        many=many,
        required=required,
    )


class AttachmentField(serializers.FileField):
    """An upload checked like the pages' uploads: PDF, DOCX or XLSX by content, size-limited,
    Office files checked as ZIPs before anything parses them."""

    def to_internal_value(self, data):
        upload = super().to_internal_value(data)
        try:
            validate_attachment(upload)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from exc
        return upload


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000, help_text="理由（必填）。")


class NoteSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class MilestoneInputSerializer(serializers.Serializer):
    due_date = DateField()
    title = serializers.CharField(max_length=200)


# The body of a page's form sent to the API. `Meta.fields` is built from the form's own field
# tuple (a public constant of its module) and what only the API takes; the fields declared on
# the serializer must be exactly those, so that the form and the API cannot take different
# fields: a name added to the form's tuple and not declared, or declared and in no tuple, stops
# the import. (A comment, not a docstring: the schema would show a docstring on every body.)
class FormInputSerializer(serializers.Serializer):
    class Meta:
        fields: tuple[str, ...] = ()

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        declared, listed = set(cls._declared_fields), set(cls.Meta.fields)
        if declared != listed:
            raise ImproperlyConfigured(
                f"{cls.__name__}: declared fields {sorted(declared)} differ from "
                f"Meta.fields {sorted(listed)}."
            )
