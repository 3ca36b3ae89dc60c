"""The ledger (R2.2, R2.3): filings, quarterly progress reports, half-year summaries."""

from __future__ import annotations

from rest_framework import serializers

from api.serializers.common import (
    ORG,
    AttachmentField,
    DateField,
    FormInputSerializer,
    record_fields,
)
from core.dates import YEAR_MAX, YEAR_MIN
from ledger.filing import FILING_FIELDS
from ledger.forms import FILING_FORM_FIELDS, QUARTERLY_REPORT_FORM_FIELDS
from ledger.models import Filing, HalfYearSummary, QuarterlyReport
from ledger.reports import REPORT_FIELDS
from ledger.summaries import SUMMARY_FIELDS


class FilingSerializer(serializers.ModelSerializer):
    pilot = serializers.SlugRelatedField(slug_field="code", read_only=True)
    status_display = serializers.CharField(source="get_status_display", read_only=True)

    class Meta:
        model = Filing
        fields = record_fields(
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
        fields = record_fields(
            "year",
            "quarter",
            "version",
            "is_current",
            *REPORT_FIELDS,
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
            *SUMMARY_FIELDS,
            "due_date",
            "days_late",
            "submitted_at",
            "updated_at",
        ]


# --- input ---------------------------------------------------------------------------------


class FilingInputSerializer(FormInputSerializer):
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

    class Meta:
        fields = FILING_FORM_FIELDS


class QuarterlyReportInputSerializer(FormInputSerializer):
    # The page takes the year and the quarter from its address, the API from the body.
    year = serializers.IntegerField(min_value=YEAR_MIN, max_value=YEAR_MAX)
    quarter = serializers.IntegerField(min_value=1, max_value=4)
    progress = serializers.CharField(max_length=10000)
    milestones_reached = serializers.CharField(max_length=5000, required=False, allow_blank=True)
    problems = serializers.CharField(max_length=5000, required=False, allow_blank=True)
    next_steps = serializers.CharField(max_length=5000, required=False, allow_blank=True)
    correction_reason = serializers.CharField(max_length=500, required=False, allow_blank=True)
    attachment = AttachmentField(required=False)

    class Meta:
        fields = ("year", "quarter", *QUARTERLY_REPORT_FORM_FIELDS)


class SummaryDraftSerializer(serializers.Serializer):
    year = serializers.IntegerField(min_value=YEAR_MIN, max_value=YEAR_MAX)
    half = serializers.IntegerField(min_value=1, max_value=2)


class SummarySubmitSerializer(FormInputSerializer):
    overview = serializers.CharField(max_length=20000)
    progress = serializers.CharField(max_length=20000)
    problems = serializers.CharField(max_length=20000, required=False, allow_blank=True)
    next_steps = serializers.CharField(max_length=20000, required=False, allow_blank=True)

    class Meta:
        fields = tuple(SUMMARY_FIELDS)
