"""The end of a term (R2.4, R3.2): closure, extension and acceptance sent on a pilot, a purged
pilot restored, and the office's decisions on closures and extensions."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.response import Response

from api.serializers.common import NoteSerializer, ReasonSerializer
from api.serializers.term import (
    AcceptanceInputSerializer,
    AcceptanceReportSerializer,
    ClosureInputSerializer,
    ClosureReportSerializer,
    ExtensionInputSerializer,
    ExtensionRequestSerializer,
)
from api.views.common import (
    PILOT_ACTIONS,
    OnePilot,
    PilotRecords,
    pilot_action,
    record_action,
    validated,
)
from pilots import term
from pilots.models import AcceptanceReport, ClosureReport, ExtensionRequest
from pilots.services import MilestoneData


def _milestones(rows) -> list[MilestoneData]:
    return [MilestoneData(m["due_date"], m["title"]) for m in rows or []]


class PilotTermActions(OnePilot):
    """The pilots' actions at the end of a term: closure (/pilots/{code}/closure/), extension,
    acceptance report and restoring a purged pilot."""

    @extend_schema(
        request={
            "application/json": ClosureInputSerializer,
            "multipart/form-data": ClosureInputSerializer,
        },
        responses={201: ClosureReportSerializer},
        summary="报告销号（R2.4）",
        tags=[PILOT_ACTIONS],
    )
    @action(detail=True, methods=["post"])
    def closure(self, request, code=None):
        data = validated(ClosureInputSerializer, request)
        report = term.report_closure(
            actor=request.user,
            pilot=self._pilot(),
            results=data["results"],
            experience=data["experience"],
            milestones_reached=data.get("milestones_reached", ""),
            attachment=data.get("attachment"),
        )
        return Response(ClosureReportSerializer(report).data, status=status.HTTP_201_CREATED)

    @pilot_action(
        ExtensionInputSerializer, "申请延期（R2.4，R1.2）", 201, ExtensionRequestSerializer
    )
    @action(detail=True, methods=["post"])
    def extension(self, request, code=None):
        data = validated(ExtensionInputSerializer, request)
        extension = term.request_extension(
            actor=request.user,
            pilot=self._pilot(),
            reason=data["reason"],
            new_end_date=data["new_end_date"],
            stage_targets=data["stage_targets"],
            milestones=_milestones(data["milestones"]),
        )
        return Response(ExtensionRequestSerializer(extension).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request={
            "application/json": AcceptanceInputSerializer,
            "multipart/form-data": AcceptanceInputSerializer,
        },
        responses={201: AcceptanceReportSerializer},
        summary="报送总结验收报告（R3.2）",
        tags=[PILOT_ACTIONS],
    )
    @action(detail=True, methods=["post"])
    def acceptance(self, request, code=None):
        data = validated(AcceptanceInputSerializer, request)
        report = term.submit_acceptance_report(
            actor=request.user,
            pilot=self._pilot(),
            summary=data["summary"],
            evaluator=data["evaluator"],
            third_party=data.get("third_party", ""),
            attachment=data.get("attachment"),
        )
        return Response(AcceptanceReportSerializer(report).data, status=status.HTTP_201_CREATED)

    @pilot_action(ReasonSerializer, "恢复入库（R2.4）")
    @action(detail=True, methods=["post"])
    def restore(self, request, code=None):
        reason = validated(ReasonSerializer, request)["reason"]
        return self._done(
            term.restore_pilot(actor=request.user, pilot=self._pilot(), reason=reason)
        )


@extend_schema_view(
    list=extend_schema(summary="销号报告（R2.4）"), retrieve=extend_schema(summary="销号报告")
)
class ClosureViewSet(PilotRecords):
    model = ClosureReport
    related = ("pilot", "organisation")
    serializer_class = ClosureReportSerializer
    filterset_fields = ["status", "pilot__code"]

    @record_action(NoteSerializer, ClosureReportSerializer, "省办同意销号")
    @action(detail=True, methods=["post"])
    def accept(self, request, pk=None):
        note = validated(NoteSerializer, request)["note"]
        report = term.accept_closure(actor=request.user, report=self.get_object(), note=note)
        return Response(ClosureReportSerializer(report).data)

    @record_action(ReasonSerializer, ClosureReportSerializer, "省办退回销号报告")
    @action(detail=True, methods=["post"], url_path="return")
    def return_(self, request, pk=None):
        reason = validated(ReasonSerializer, request)["reason"]
        report = term.return_closure(actor=request.user, report=self.get_object(), reason=reason)
        return Response(ClosureReportSerializer(report).data)


@extend_schema_view(
    list=extend_schema(summary="延期申请（R2.4）"), retrieve=extend_schema(summary="延期申请")
)
class ExtensionViewSet(PilotRecords):
    model = ExtensionRequest
    related = ("pilot", "organisation")
    serializer_class = ExtensionRequestSerializer
    filterset_fields = ["status", "pilot__code"]

    @record_action(NoteSerializer, ExtensionRequestSerializer, "省办批准延期")
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        note = validated(NoteSerializer, request)["note"]
        extension = term.approve_extension(actor=request.user, request=self.get_object(), note=note)
        return Response(ExtensionRequestSerializer(extension).data)

    @record_action(ReasonSerializer, ExtensionRequestSerializer, "省办不予延期")
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        reason = validated(ReasonSerializer, request)["reason"]
        extension = term.reject_extension(
            actor=request.user, request=self.get_object(), reason=reason
        )
        return Response(ExtensionRequestSerializer(extension).data)


@extend_schema_view(
    list=extend_schema(summary="总结验收报告（R3.2）"),
    retrieve=extend_schema(summary="总结验收报告"),
)
class AcceptanceViewSet(PilotRecords):
    model = AcceptanceReport
    related = ("pilot", "organisation")
    serializer_class = AcceptanceReportSerializer
    filterset_fields = ["is_current", "pilot__code"]
