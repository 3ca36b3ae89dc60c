"""Reviews of pilots (R3.2, R3.3): evaluations and inspections with their rectifications."""

from __future__ import annotations

from rest_framework import serializers

from api.serializers.common import ORG, record_fields
from reviews.forms import EVALUATION_FIELDS, INSPECTION_FIELDS
from reviews.models import Evaluation, Inspection, Rectification


class EvaluationSerializer(serializers.ModelSerializer):
    pilot = serializers.SlugRelatedField(slug_field="code", read_only=True)
    organisation = serializers.SlugRelatedField(**ORG)
    scorecard = serializers.CharField(source="scorecard.name", read_only=True)

    class Meta:
        model = Evaluation
        fields = record_fields(
            "scorecard",
            *EVALUATION_FIELDS,
            "score",
            "rating",
            "breakdown",
            "removal_flagged",
            "organisation",
            "created_at",
        )


class RectificationSerializer(serializers.ModelSerializer):
    organisation = serializers.SlugRelatedField(**ORG)

    class Meta:
        model = Rectification
        fields = ["id", "demand", "organisation", "due_date", "follow_up", "closed_on"]


class InspectionSerializer(serializers.ModelSerializer):
    pilot = serializers.SlugRelatedField(slug_field="code", read_only=True)
    rectifications = RectificationSerializer(many=True, read_only=True)

    class Meta:
        model = Inspection
        fields = record_fields(*INSPECTION_FIELDS, "rectifications", "created_at")
