"""What the API reads and writes. Output serializers mirror the models with organisations by
code; input serializers only check shape and types — the rules themselves stay in the domain
functions the pages call, which answer in Chinese. Pilots and applications are validated by
the pages' own forms (api.form_input): their serializers here describe the body for the
schema and are not used to validate it."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from accounts.constants import OrgKind
from accounts.models import Notification, Organisation
from ledger.models import Filing, HalfYearSummary, QuarterlyReport
from ledger.services import FILING_FIELDS
from pilots import policy
from pilots.constants import (
    SCREENING_CRITERIA,
    EvaluatorType,
    Origin,
    OverlapVerdict,
    PilotKind,
)
from pilots.constants import ReformField as Field
from pilots.models import (
    AcceptanceReport,
    Call,
    ClosureReport,
    ExtensionRequest,
    Milestone,
    Opinion,
    OverlapFlag,
    Pilot,
)
from pilots.uploads import validate_attachment
from reviews.models import Evaluation, Inspection, Rectification

ORG = {"slug_field": "code", "read_only": True}


class DateField(serializers.DateField):
    """A date a person would type: years 2000 to 2100 (the rules add days and months to it)."""

    def to_internal_value(self, value):
        day = super().to_internal_value(value)
        if not 2000 <= day.year <= 2100:
            raise serializers.ValidationError("日期须在2000年至2100年之间。")
        return day


class OrganisationSerializer(serializers.ModelSerializer):
    parent = serializers.SlugRelatedField(**ORG)
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)

    class Meta:
        model = Organisation
        fields = ["code", "name", "short_name", "kind", "kind_display", "parent", "is_active"]


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


def _report_fields(*extra: str) -> list[str]:
    return ["id", "pilot", *extra]


class FilingSerializer(serializers.ModelSerializer):
    pilot = serializers.SlugRelatedField(slug_field="code", read_only=True)
    status_display = serializers.CharField(source="get_status_display", read_only=True)

    class Meta:
        model = Filing
        fields = _report_fields(
            "version",
            "status",
            "status_display",
            *FILING_FIELDS,
            "due_date",
            "filed_on",
            "days_late",
            "submitted_at",
            "decided_at",
            "return_reason",
        )


class QuarterlyReportSerializer(serializers.ModelSerializer):
    pilot = serializers.SlugRelatedField(slug_field="code", read_only=True)
    organisation = serializers.SlugRelatedField(**ORG)

    class Meta:
        model = QuarterlyReport
        fields = _report_fields(
            "year",
            "quarter",
            "version",
            "is_current",
            "progress",
            "milestones_reached",
            "problems",
            "next_steps",
            "correction_reason",
            "due_date",
            "days_late",
            "organisation",
            "submitted_at",
        )


class HalfYearSummarySerializer(serializers.ModelSerializer):
    organisation = serializers.SlugRelatedField(**ORG)

    class Meta:
        model = HalfYearSummary
        fields = [
            "id",
            "organisation",
            "year",
            "half",
            "status",
            "counts",
            "overview",
            "progress",
            "problems",
            "next_steps",
            "due_date",
            "days_late",
            "submitted_at",
            "updated_at",
        ]


_TERM = ["status", "organisation", "submitted_at", "decided_at", "decision_note"]


class ClosureReportSerializer(serializers.ModelSerializer):
    pilot = serializers.SlugRelatedField(slug_field="code", read_only=True)
    organisation = serializers.SlugRelatedField(**ORG)

    class Meta:
        model = ClosureReport
        fields = _report_fields("results", "milestones_reached", "experience", *_TERM)


class ExtensionRequestSerializer(serializers.ModelSerializer):
    pilot = serializers.SlugRelatedField(slug_field="code", read_only=True)
    organisation = serializers.SlugRelatedField(**ORG)

    class Meta:
        model = ExtensionRequest
        fields = _report_fields(
            "reason", "previous_end_date", "new_end_date", "stage_targets", "milestones", *_TERM
        )


class AcceptanceReportSerializer(serializers.ModelSerializer):
    pilot = serializers.SlugRelatedField(slug_field="code", read_only=True)
    organisation = serializers.SlugRelatedField(**ORG)

    class Meta:
        model = AcceptanceReport
        fields = _report_fields(
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


class EvaluationSerializer(serializers.ModelSerializer):
    pilot = serializers.SlugRelatedField(slug_field="code", read_only=True)
    organisation = serializers.SlugRelatedField(**ORG)
    scorecard = serializers.CharField(source="scorecard.name", read_only=True)

    class Meta:
        model = Evaluation
        fields = _report_fields(
            "scorecard",
            "stage",
            "evaluator",
            "third_party",
            "evaluated_on",
            "effort",
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
        fields = _report_fields(
            "inspected_on", "inspectors", "subject", "findings", "rectifications", "created_at"
        )


class NotificationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Notification
        fields = ["id", "subject", "body", "url", "created_at", "read_at"]


class MeSerializer(serializers.Serializer):
    username = serializers.CharField()
    display_name = serializers.CharField()
    role = serializers.CharField()
    organisation = OrganisationSerializer(allow_null=True)


# --- input ---------------------------------------------------------------------------------


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


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000, help_text="理由（必填）。")


class NoteSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class ChecklistAnswerSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class ChecklistSerializer(serializers.Serializer):
    """R1.1: the entry screening, one answer per criterion."""

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


class OverlapVerdictSerializer(serializers.Serializer):
    verdict = serializers.ChoiceField(
        choices=[c for c in OverlapVerdict.choices if c[0] != OverlapVerdict.PENDING]
    )
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class MilestoneInputSerializer(serializers.Serializer):
    due_date = DateField()
    title = serializers.CharField(max_length=200)


class OrganisationCodeField(serializers.SlugRelatedField):
    """An organisation named by its code; anything that cannot be a code is refused before
    the database is asked."""

    def to_internal_value(self, data):
        if not isinstance(data, str) or not data or len(data) > 64 or "\x00" in data:
            raise serializers.ValidationError(f"单位代码无效：{str(data)[:64]!r}。")
        return super().to_internal_value(data)


def _org_field(*kinds: str, many: bool = False, required: bool = True):
    return OrganisationCodeField(
        slug_field="code",
        queryset=Organisation.objects.filter(kind__in=kinds, is_active=True),
        many=many,
        required=required,
    )


class ApplicationSerializer(serializers.Serializer):
    """N3: an application (申报表) drafted in a call; entry elements may be blank in a draft.
    Validated by the application page's form (pilots.forms.ApplicationForm): a county names
    its own county, a prefecture its own area."""

    call = serializers.PrimaryKeyRelatedField(queryset=Call.objects.all())
    name = serializers.CharField(max_length=200)
    field = serializers.ChoiceField(choices=Field.choices)
    kind = serializers.ChoiceField(choices=PilotKind.choices)
    regions = _org_field(OrgKind.PREFECTURE, OrgKind.COUNTY, many=True)
    lead_department = _org_field(OrgKind.DEPARTMENT, OrgKind.DIVISION)
    participating_units = _org_field(
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


class FilingInputSerializer(serializers.Serializer):
    """R2.2: the filing form (备案表), sent as multipart with the pilot plan attached."""

    approval_authority = serializers.CharField(max_length=100)
    approval_doc_number = serializers.CharField(max_length=50)
    approval_date = DateField()
    implementing_body = serializers.CharField(max_length=200)
    start_date = DateField()
    end_date = DateField()
    goal = serializers.CharField(max_length=5000)
    measures = serializers.CharField(max_length=5000)
    expected_outcomes = serializers.CharField(max_length=5000)
    milestones_text = serializers.CharField(max_length=5000, required=False, allow_blank=True)
    contact_person = serializers.CharField(max_length=50)
    contact_phone = serializers.CharField(max_length=30)
    plan = AttachmentField()


class QuarterlyReportInputSerializer(serializers.Serializer):
    year = serializers.IntegerField(min_value=2000, max_value=2100)
    quarter = serializers.IntegerField(min_value=1, max_value=4)
    progress = serializers.CharField(max_length=10000)
    milestones_reached = serializers.CharField(max_length=5000, required=False, allow_blank=True)
    problems = serializers.CharField(max_length=5000, required=False, allow_blank=True)
    next_steps = serializers.CharField(max_length=5000, required=False, allow_blank=True)
    correction_reason = serializers.CharField(max_length=500, required=False, allow_blank=True)
    attachment = AttachmentField(required=False)


class ClosureInputSerializer(serializers.Serializer):
    results = serializers.CharField(max_length=10000)
    experience = serializers.CharField(max_length=10000)
    milestones_reached = serializers.CharField(max_length=5000, required=False, allow_blank=True)
    attachment = AttachmentField(required=False)


class ExtensionInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=5000)
    new_end_date = DateField()
    stage_targets = serializers.CharField(max_length=5000)
    milestones = MilestoneInputSerializer(many=True)


class AcceptanceInputSerializer(serializers.Serializer):
    summary = serializers.CharField(max_length=20000)
    evaluator = serializers.ChoiceField(choices=EvaluatorType.choices)
    third_party = serializers.CharField(max_length=200, required=False, allow_blank=True)
    attachment = AttachmentField(required=False)


class SummaryDraftSerializer(serializers.Serializer):
    year = serializers.IntegerField(min_value=2000, max_value=2100)
    half = serializers.IntegerField(min_value=1, max_value=2)


class SummarySubmitSerializer(serializers.Serializer):
    overview = serializers.CharField(max_length=20000)
    progress = serializers.CharField(max_length=20000)
    problems = serializers.CharField(max_length=20000, required=False, allow_blank=True)
    next_steps = serializers.CharField(max_length=20000, required=False, allow_blank=True)


class DirectEntrySerializer(serializers.Serializer):
    """R2.2: a pilot deployed by the state, a ministry or the province, or run by a department
    itself, entered at *approved* by its lead department (or the office) with its approval.
    Validated by the direct-entry page's form (pilots.forms.PilotForm)."""

    name = serializers.CharField(max_length=200)
    field = serializers.ChoiceField(choices=Field.choices)
    kind = serializers.ChoiceField(choices=PilotKind.choices)
    # Every origin but "call" (申报批次) is accepted; the form says so in Chinese.
    origin = serializers.ChoiceField(choices=Origin.choices)
    regions = _org_field(OrgKind.PREFECTURE, OrgKind.COUNTY, many=True)
    implementing_body = serializers.CharField(max_length=200)
    lead_department = _org_field(OrgKind.DEPARTMENT, OrgKind.DIVISION)
    participating_units = _org_field(
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


class PilotUpdateSerializer(DirectEntrySerializer):
    """The content of an application (draft or returned) or of a directly entered pilot not
    yet filed; with PATCH only the fields sent change. An application has no origin or
    approval; those fields are ignored for it."""

    def get_fields(self):
        fields = super().get_fields()
        for field in fields.values():
            field.required = False
        return fields
