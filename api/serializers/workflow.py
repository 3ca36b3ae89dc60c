"""The review of an application (N2, N3, R1.1, R1.3): the entry screening's checklist, the
prefecture's endorsement, the lead department's opinion, the office's approval or refusal,
and the office's verdict on an overlap flag."""

from __future__ import annotations

from rest_framework import serializers

from api.serializers.common import DateField, FormInputSerializer
from pilots.constants import SCREENING_CRITERIA, OverlapVerdict
from pilots.forms import OVERLAP_VERDICT_FIELDS


class ChecklistAnswerSerializer(serializers.Serializer):
    default_error_messages = {
        "invalid": "每项审查应为对象：是否符合（ok：true/false）和说明（note，可空）。"
    }

    ok = serializers.BooleanField()
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class ChecklistSerializer(serializers.Serializer):
    """R1.1: the entry screening, one answer per criterion."""

    default_error_messages = {"invalid": "准入审查应为逐项填写的对象（各项：是/否）。"}

    def get_fields(self):
        return {
            key: ChecklistAnswerSerializer(help_text=label) for key, label in SCREENING_CRITERIA
        }


class EndorseSerializer(serializers.Serializer):
    opinion = serializers.CharField(max_length=2000)
    checklist = ChecklistSerializer()


class DecisionWithChecklistSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000)
    checklist = ChecklistSerializer()


class DepartmentOpinionSerializer(serializers.Serializer):
    agree = serializers.BooleanField()
    text = serializers.CharField(max_length=2000)
    checklist = ChecklistSerializer()


class ApproveSerializer(serializers.Serializer):
    authority = serializers.CharField(max_length=100)
    doc_number = serializers.CharField(max_length=50)
    approval_date = DateField()
    opinion = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    checklist = ChecklistSerializer()


class OverlapVerdictSerializer(FormInputSerializer):
    verdict = serializers.ChoiceField(
        choices=[c for c in OverlapVerdict.choices if c[0] != OverlapVerdict.PENDING]
    )
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")

    class Meta:
        fields = OVERLAP_VERDICT_FIELDS
