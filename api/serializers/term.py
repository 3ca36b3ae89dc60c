"""The end of a term (R2.4, R3.2): closure reports, extension requests, acceptance reports."""

from __future__ import annotations

from rest_framework import serializers

from api.serializers.common import (
    ORG,
    AttachmentField,
    DateField,
    FormInputSerializer,
    MilestoneInputSerializer,
    record_fields,
)
from pilots.constants import EvaluatorType
from pilots.models import AcceptanceReport, ClosureReport, ExtensionRequest
from pilots.term_forms import ACCEPTANCE_FIELDS, CLOSURE_FIELDS, EXTENSION_FIELDS

# A request the office decides on: its state, who sent it and when, the decision.
_DECIDED = ["status", "organisation", "submitted_at", "decided_at", "decision_note"]


class ClosureReportSerializer(serializers.ModelSerializer):
    pilot = serializers.SlugRelatedField(slug_field="code", read_only=True)
    organisation = serializers.SlugRelatedField(**ORG)

    class Meta:
        model = ClosureReport
        fields = record_fields("results", "milestones_reached", "experience", *_DECIDED)


class ExtensionRequestSerializer(serializers.ModelSerializer):
    pilot = serializers.SlugRelatedField(slug_field="code", read_only=True)
    organisation = serializers.SlugRelatedField(**ORG)

    class Meta:
        model = ExtensionRequest
        fields = record_fields(
            "reason", "previous_end_date", "new_end_date", "stage_targets", "milestones", *_DECIDED
        )


class AcceptanceReportSerializer(serializers.ModelSerializer):
    pilot = serializers.SlugRelatedField(slug_field="code", read_only=True)
    organisation = serializers.SlugRelatedField(**ORG)

    class Meta:
        model = AcceptanceReport
        fields = record_fields(
            "version",
            "is_current",
            "summary",
            "evaluator",
            "third_party",
            "due_date",
            "days_late",
            "organisation",
            "submitted_at",
        )


# --- input ---------------------------------------------------------------------------------


class ClosureInputSerializer(FormInputSerializer):
    results = serializers.CharField(max_length=10000)
    experience = serializers.CharField(max_length=10000)
    milestones_reached = serializers.CharField(max_length=5000, required=False, allow_blank=True)
    attachment = AttachmentField(required=False)

    class Meta:
        fields = CLOSURE_FIELDS


class ExtensionInputSerializer(FormInputSerializer):
    reason = serializers.CharField(max_length=5000)
    new_end_date = DateField()
    stage_targets = serializers.CharField(max_length=5000)
    milestones = MilestoneInputSerializer(many=True)

    class Meta:
        fields = (*EXTENSION_FIELDS, "milestones")


class AcceptanceInputSerializer(FormInputSerializer):
    summary = serializers.CharField(max_length=20000)
    evaluator = serializers.ChoiceField(choices=EvaluatorType.choices)
    third_party = serializers.CharField(max_length=200, required=False, allow_blank=True)
    attachment = AttachmentField(required=False)

    class Meta:
        fields = ACCEPTANCE_FIELDS
