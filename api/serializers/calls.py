"""Calls for proposals (N3) and the applications (申报表) drafted in them."""

from __future__ import annotations

from rest_framework import serializers

from accounts.constants import OrgKind
from api.serializers.common import (
    DateField,
    FormInputSerializer,
    MilestoneInputSerializer,
    org_field,
)
from pilots.constants import PilotKind
from pilots.constants import ReformField as Field
from pilots.forms import APPLICATION_FIELDS
from pilots.models import Call


class CallSerializer(serializers.ModelSerializer):
    field_labels = serializers.ListField(child=serializers.CharField(), read_only=True)
    is_open = serializers.SerializerMethodField()

    class Meta:
        model = Call
        fields = [
            "id",
            "title",
            "fields",
            "field_labels",
            "description",
            "deadline",
            "prefecture_quota",
            "is_cancelled",
            "is_open",
            "created_at",
        ]

    def get_is_open(self, call: Call) -> bool:
        return call.is_open()


class CallInputSerializer(serializers.Serializer):
    """N3: a call for proposals: fields covered (none = all), deadline, per-prefecture quota."""

    title = serializers.CharField(max_length=200)
    deadline = serializers.DateTimeField()
    fields = serializers.ListField(
        child=serializers.ChoiceField(choices=Field.choices), required=False, max_length=8
    )
    prefecture_quota = serializers.IntegerField(min_value=1, max_value=50, required=False)
    description = serializers.CharField(max_length=5000, required=False, allow_blank=True)

    def validate_deadline(self, value):
        if not 2000 <= value.year <= 2100:
            raise serializers.ValidationError("日期须在2000年至2100年之间。")
        return value


class ApplicationSerializer(FormInputSerializer):
    """N3: an application (申报表) drafted in a call; entry elements may be blank in a draft.
    Validated by the application page's form (pilots.forms.ApplicationForm): a county names
    its own county, a prefecture its own area."""

    call = serializers.PrimaryKeyRelatedField(queryset=Call.objects.all())
    name = serializers.CharField(max_length=200)
    field = serializers.ChoiceField(choices=Field.choices)
    kind = serializers.ChoiceField(choices=PilotKind.choices)
    regions = org_field(OrgKind.PREFECTURE, OrgKind.COUNTY, many=True)
    lead_department = org_field(OrgKind.DEPARTMENT, OrgKind.DIVISION)
    participating_units = org_field(
        OrgKind.DEPARTMENT,
        OrgKind.DIVISION,
        OrgKind.PREFECTURE,
        OrgKind.COUNTY,
        many=True,
        required=False,
    )
    implementing_body = serializers.CharField(max_length=200, required=False, allow_blank=True)
    goal = serializers.CharField(required=False, allow_blank=True, max_length=5000)
    scope = serializers.CharField(required=False, allow_blank=True, max_length=5000)
    start_date = DateField()
    end_date = DateField()
    responsible_body = serializers.CharField(max_length=200, required=False, allow_blank=True)
    measures = serializers.CharField(required=False, allow_blank=True, max_length=5000)
    expected_outcomes = serializers.CharField(required=False, allow_blank=True, max_length=5000)
    work_foundation = serializers.CharField(required=False, allow_blank=True, max_length=5000)
    contact_person = serializers.CharField(max_length=50, required=False, allow_blank=True)
    contact_phone = serializers.CharField(max_length=30, required=False, allow_blank=True)
    milestones = MilestoneInputSerializer(many=True, required=False)

    class Meta:
        fields = ("call", *APPLICATION_FIELDS, "milestones")
