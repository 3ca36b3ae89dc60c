"""The ledger (R2.2, R2.3): a pilot's filing and quarterly reports sent on the pilot, the
office's decision on a filing, and the lead departments' half-year summaries."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from api.serializers.common import ReasonSerializer
from api.serializers.ledger import (
    FilingInputSerializer,
    FilingSerializer,
    HalfYearSummarySerializer,
    QuarterlyReportInputSerializer,
    QuarterlyReportSerializer,
    SummaryDraftSerializer,
    SummarySubmitSerializer,
)
from api.views.common import (
    PILOT_ACTIONS,
    OnePilot,
    PilotRecords,
    ReadOnly,
    record_action,
    validated,
)
from ledger.filing import confirm_filing, return_filing, submit_filing
from ledger.models import Filing, HalfYearSummary, QuarterlyReport
from ledger.reports import submit_quarterly_report
from ledger.summaries import draft_half_year_summary, submit_half_year_summary
from pilots.selectors import responsible_org_ids


class PilotLedgerActions(OnePilot):
    """The pilots' actions that send ledger records: the filing (/pilots/{code}/file/, R2.2)
    and quarterly progress (/pilots/{code}/reports/, R2.3)."""

    @extend_schema(
        request={"multipart/form-data": FilingInputSerializer},
        responses={201: FilingSerializer},
        summary="报送备案（R2.2，附试点方案）",
        tags=[PILOT_ACTIONS],
    )
    @action(detail=True, methods=["post"], url_path="file")
    def file(self, request, code=None):
        data = validated(FilingInputSerializer, request)
        plan = data.pop("plan")
        filing = submit_filing(actor=request.user, pilot=self._pilot(), data=data, plan=plan)
        return Response(FilingSerializer(filing).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request={
            "application/json": QuarterlyReportInputSerializer,
            "multipart/form-data": QuarterlyReportInputSerializer,
        },
        responses={201: QuarterlyReportSerializer},
        summary="报送季度进展（R2.3）；同一季度再次报送即更正",
        tags=[PILOT_ACTIONS],
    )
    @action(detail=True, methods=["post"])
    def reports(self, request, code=None):
        data = validated(QuarterlyReportInputSerializer, request)
        report = submit_quarterly_report(
            actor=request.user,
            pilot=self._pilot(),
            year=data["year"],
            quarter=data["quarter"],
            data=data,
            attachment=data.get("attachment"),
            correction_reason=data.get("correction_reason", ""),
        )
        return Response(QuarterlyReportSerializer(report).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    list=extend_schema(summary="备案（R2.2）"), retrieve=extend_schema(summary="备案")
)
class FilingViewSet(PilotRecords):
    model = Filing
    serializer_class = FilingSerializer
    filterset_fields = ["status", "pilot__code"]
    ordering_fields = ["id", "filed_on", "due_date"]

    @record_action(None, FilingSerializer, "省办确认备案，列入台账（R2.2）")
    @action(detail=True, methods=["post"])
    def confirm(self, request, pk=None):
        filing = confirm_filing(actor=request.user, filing=self.get_object())
        return Response(FilingSerializer(filing).data)

    @record_action(ReasonSerializer, FilingSerializer, "省办退回备案")
    @action(detail=True, methods=["post"], url_path="return")
    def return_(self, request, pk=None):
        reason = validated(ReasonSerializer, request)["reason"]
        filing = return_filing(actor=request.user, filing=self.get_object(), reason=reason)
        return Response(FilingSerializer(filing).data)


@extend_schema_view(
    list=extend_schema(summary="季度进展（R2.3）"), retrieve=extend_schema(summary="季度进展")
)
class QuarterlyReportViewSet(PilotRecords):
    model = QuarterlyReport
    related = ("pilot", "organisation")
    serializer_class = QuarterlyReportSerializer
    filterset_fields = ["year", "quarter", "is_current", "pilot__code"]
    ordering_fields = ["id", "year", "quarter", "submitted_at"]


@extend_schema_view(
    list=extend_schema(summary="半年汇总（R2.3）"), retrieve=extend_schema(summary="半年汇总")
)
class SummaryViewSet(ReadOnly):
    """The office sees every department's summaries; a lead department its own."""

    serializer_class = HalfYearSummarySerializer
    filterset_fields = ["year", "half", "status"]
    ordering_fields = ["id", "year", "half"]

    def get_queryset(self):
        qs = HalfYearSummary.objects.select_related("organisation").order_by("-pk")
        orgs = responsible_org_ids(self.request.user)  # None: the office, all of them
        return qs if orgs is None else qs.filter(organisation_id__in=orgs)

    @extend_schema(
        request=SummaryDraftSerializer,
        responses={200: HalfYearSummarySerializer},
        summary="起草（或重新起草）本部门半年汇总（R2.3）",
    )
    @action(detail=False, methods=["post"])
    def draft(self, request):
        data = validated(SummaryDraftSerializer, request)
        if request.user.organisation is None:
            raise ValidationError({"detail": "您的账号未关联单位，不能起草半年汇总。"})
        summary = draft_half_year_summary(
            actor=request.user,
            organisation=request.user.organisation,
            year=data["year"],
            half=data["half"],
            refresh=True,
        )
        return Response(HalfYearSummarySerializer(summary).data)

    @extend_schema(
        request=SummarySubmitSerializer,
        responses={200: HalfYearSummarySerializer},
        summary="报送半年汇总（R2.3）",
    )
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        data = validated(SummarySubmitSerializer, request)
        summary = submit_half_year_summary(actor=request.user, summary=self.get_object(), data=data)
        return Response(HalfYearSummarySerializer(summary).data)
