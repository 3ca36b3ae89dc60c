"""Pilots: what the API shows of a pilot (with its milestones, opinions and overlap flags)
and the body of a pilot entered directly or edited, validated by the pages' own forms."""

from __future__ import annotations

from rest_framework import serializers

from accounts.constants import OrgKind
from api.serializers.common import (
    ORG,
    DateField,
    FormInputSerializer,
    MilestoneInputSerializer,
    org_field,
)
from pilots import policy
from pilots.constants import Origin, PilotKind
from pilots.constants import ReformField as Field
from pilots.forms import DIRECT_ENTRY_FIELDS
from pilots.models import Milestone, Opinion, OverlapFlag, Pilot


class MilestoneSerializer(serializers.ModelSerializer):
    class Meta:
        model = Milestone
        fields = ["due_date", "title", "reached_on"]


class OpinionSerializer(serializers.ModelSerializer):
    organisation = serializers.SlugRelatedField(**ORG)
    stage_display = serializers.CharField(source="get_stage_display", read_only=True)
    decision_display = serializers.CharField(source="get_decision_display", read_only=True)

    class Meta:
        model = Opinion
        fields = [
            "stage",
            "stage_display",
            "decision",
            "decision_display",
            "text",
            "organisation",
            "created_at",
        ]


class OverlapFlagSerializer(serializers.ModelSerializer):
    other = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = OverlapFlag
        fields = ["id", "other", "score", "reasons", "verdict", "note", "decided_at"]

    def to_representation(self, instance):
        data = super().to_representation(instance)
        request = self.context.get("request")
        if request is not None and not policy.may_see_other(request.user, instance):
            # R1.3: a pilot the reader may not see is not named, not even by its reasons.
            data.update(other=None, reasons=["其他单位存在相似的申报或试点，由省办核实并判定"])
            data["note"] = ""
        return data


class PilotSerializer(serializers.ModelSerializer):
    lead_department = serializers.SlugRelatedField(**ORG)
    applicant = serializers.SlugRelatedField(**ORG)
    endorsing_prefecture = serializers.SlugRelatedField(**ORG)
    regions = serializers.SlugRelatedField(many=True, **ORG)
    participating_units = serializers.SlugRelatedField(many=True, **ORG)
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    field_display = serializers.CharField(source="get_field_display", read_only=True)
    tier = serializers.CharField(read_only=True)
    filing_due = serializers.DateField(read_only=True)
    web_url = serializers.CharField(source="get_absolute_url", read_only=True)

    class Meta:
        model = Pilot
        fields = [
            "code",
            "name",
            "field",
            "field_display",
            "kind",
            "origin",
            "tier",
            "status",
            "status_display",
            "call",
            "regions",
            "implementing_body",
            "lead_department",
            "participating_units",
            "applicant",
            "endorsing_prefecture",
            "goal",
            "scope",
            "start_date",
            "end_date",
            "responsible_body",
            "measures",
            "expected_outcomes",
            "work_foundation",
            "contact_person",
            "contact_phone",
            "approval_authority",
            "approval_doc_number",
            "approval_date",
            "filing_due",
            "ledger_since",
            "purged_on",
            "created_at",
            "updated_at",
            "web_url",
        ]


class PilotDetailSerializer(PilotSerializer):
    milestones = serializers.SerializerMethodField()
    opinions = OpinionSerializer(many=True, read_only=True)
    overlap_flags = OverlapFlagSerializer(many=True, read_only=True)

    class Meta(PilotSerializer.Meta):
        fields = [*PilotSerializer.Meta.fields, "milestones", "opinions", "overlap_flags"]

    def get_milestones(self, pilot: Pilot) -> list[dict]:
        live = [m for m in pilot.milestones.all() if not m.is_removed]
        return MilestoneSerializer(live, many=True).data


class DirectEntrySerializer(FormInputSerializer):
    """R2.2: a pilot deployed by the state, a ministry or the province, or run by a department
    itself, entered at *approved* by its lead department (or the office) with its approval.
    Validated by the direct-entry page's form (pilots.forms.PilotForm)."""

    name = serializers.CharField(max_length=200)
    field = serializers.ChoiceField(choices=Field.choices)
    kind = serializers.ChoiceField(choices=PilotKind.choices)
    # Every origin but "call" (申报批次) is accepted; the form says so in Chinese.
    origin = serializers.ChoiceField(choices=Origin.choices)
    regions = org_field(OrgKind.PREFECTURE, OrgKind.COUNTY, many=True)
    implementing_body = serializers.CharField(max_length=200)
    lead_department = org_field(OrgKind.DEPARTMENT, OrgKind.DIVISION)
    participating_units = org_field(
        OrgKind.DEPARTMENT, OrgKind.DIVISION, OrgKind.PREFECTURE, many=True, required=False
    )
    goal = serializers.CharField()
    scope = serializers.CharField()
    start_date = DateField()
    end_date = DateField()
    responsible_body = serializers.CharField(max_length=200)
    measures = serializers.CharField()
    expected_outcomes = serializers.CharField()
    work_foundation = serializers.CharField(required=False, allow_blank=True)
    contact_person = serializers.CharField(max_length=50, required=False, allow_blank=True)
    contact_phone = serializers.CharField(max_length=30, required=False, allow_blank=True)
    approval_authority = serializers.CharField(max_length=100)
    approval_doc_number = serializers.CharField(max_length=50)
    approval_date = DateField()
    milestones = MilestoneInputSerializer(many=True, required=False)
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True)

    class Meta:
        fields = (*DIRECT_ENTRY_FIELDS, "milestones", "reason")


class PilotUpdateSerializer(DirectEntrySerializer):
    """The content of an application (draft or returned) or of a directly entered pilot not
    yet filed; with PATCH only the fields sent change. An application has no origin or
    approval; those fields are ignored for it."""

    def get_fields(self):
        fields = super().get_fields()
        for field in fields.values():
            field.required = False
        return fields
