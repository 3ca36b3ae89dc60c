"""REST API v1. Lists and details go through the same access gate as the pages (what a user
may not see answers 404); workflow actions are explicit POST endpoints that call the same
domain functions as the pages, which refuse (403) what the user may not do and explain (400)
what the rules do not allow, in Chinese."""

from __future__ import annotations

import django_filters
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Q
from django.shortcuts import get_object_or_404
from django.utils import translation
from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema, extend_schema_view
from rest_framework import filters, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Notification, Organisation
from accounts.notification_views import notices_for
from accounts.notify import mark_read
from api import serializers as s
from api.form_input import validate_pilot_input
from ledger import services as ledger
from ledger.models import Filing, HalfYearSummary, QuarterlyReport
from pilots import policy, services, term, workflow
from pilots.constants import Origin, PilotKind, ReformField, Status
from pilots.forms import ApplicationForm, PilotForm
from pilots.models import (
    AcceptanceReport,
    Call,
    ClosureReport,
    ExtensionRequest,
    OverlapFlag,
    Pilot,
)
from pilots.selectors import responsible_org_ids
from pilots.services import MilestoneData
from reviews.models import Evaluation, Inspection

CODE = r"[A-Za-z0-9-]{1,20}"
ID = r"[0-9]{1,9}"


class SafeSearchFilter(filters.SearchFilter):
    """Search terms are text typed by a person: refuse control characters clearly."""

    def get_search_terms(self, request):
        value = request.query_params.get(self.search_param, "")
        if "\x00" in value or len(value) > 100:
            raise ValidationError(
                {self.search_param: ["搜索词不能超过100个字，且不能含控制字符。"]}
            )
        return super().get_search_terms(request)


class ChineseMixin:
    """Answers in Chinese whatever language the client asks for."""

    def initialize_request(self, request, *args, **kwargs):
        translation.activate(settings.LANGUAGE_CODE)
        return super().initialize_request(request, *args, **kwargs)


class ReadOnly(ChineseMixin, viewsets.ReadOnlyModelViewSet):
    lookup_value_regex = ID
    filter_backends = [
        django_filters.rest_framework.DjangoFilterBackend,
        filters.OrderingFilter,
        SafeSearchFilter,
    ]


def _visible(user):
    return policy.visible_pilots(user).values("pk")


def _validated(serializer_class, request, **kwargs) -> dict:
    serializer = serializer_class(data=request.data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _call(value) -> Call:
    """The call named by its id in a request body (400, not 404: it is a field's value)."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValidationError({"call": ["申报批次应为批次编号（整数）。"]})
    text = str(value).strip()
    if not text.isdigit() or not 0 < int(text) < 2**31:
        raise ValidationError({"call": ["申报批次应为批次编号（整数）。"]})
    call = Call.objects.filter(pk=int(text), is_cancelled=False).first()
    if call is None:
        raise ValidationError({"call": ["申报批次不存在或已撤销。"]})
    return call


def _milestones(rows) -> list[MilestoneData]:
    return [MilestoneData(m["due_date"], m["title"]) for m in rows or []]


# --- reference data ------------------------------------------------------------------------


@extend_schema_view(list=extend_schema(summary="单位名录"), retrieve=extend_schema(summary="单位"))
class OrganisationViewSet(ReadOnly):
    """Every organisation taking part: the office, departments, prefectures, counties."""

    queryset = Organisation.objects.select_related("parent").order_by("kind", "sort_order", "code")
    serializer_class = s.OrganisationSerializer
    lookup_field = "code"
    lookup_value_regex = r"[A-Za-z0-9_-]{1,64}"
    filterset_fields = ["kind", "is_active"]
    search_fields = ["code", "name", "short_name"]
    ordering_fields = ["code", "name", "sort_order"]


@extend_schema_view(
    list=extend_schema(summary="申报批次"),
    retrieve=extend_schema(summary="申报批次"),
    create=extend_schema(
        summary="省办发布申报批次（N3）",
        request=s.CallInputSerializer,
        responses={201: s.CallSerializer},
    ),
)
class CallViewSet(mixins.CreateModelMixin, ReadOnly):
    queryset = Call.objects.filter(is_cancelled=False).order_by("-deadline", "-pk")
    serializer_class = s.CallSerializer
    search_fields = ["title"]
    ordering_fields = ["deadline", "created_at"]

    def create(self, request, *args, **kwargs):
        data = _validated(s.CallInputSerializer, request)
        call = workflow.open_call(
            actor=request.user,
            title=data["title"],
            deadline=data["deadline"],
            fields=data.get("fields", []),
            prefecture_quota=data.get("prefecture_quota"),
            description=data.get("description", ""),
        )
        return Response(s.CallSerializer(call).data, status=status.HTTP_201_CREATED)


# --- pilots and their workflow ---------------------------------------------------------------


class PilotFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Status.choices)
    field = django_filters.ChoiceFilter(choices=ReformField.choices)
    kind = django_filters.ChoiceFilter(choices=PilotKind.choices)
    lead_department = django_filters.CharFilter(method="filter_lead", max_length=64)
    prefecture = django_filters.CharFilter(method="filter_prefecture", max_length=64)
    end_before = django_filters.DateFilter(field_name="end_date", lookup_expr="lte")
    end_after = django_filters.DateFilter(field_name="end_date", lookup_expr="gte")

    class Meta:
        model = Pilot
        fields = ["status", "field", "kind", "origin", "call"]

    def filter_lead(self, qs, name, value):
        return qs.filter(Q(lead_department__code=value) | Q(lead_department__parent__code=value))

    def filter_prefecture(self, qs, name, value):
        regions = Organisation.objects.filter(Q(code=value) | Q(parent__code=value))
        return qs.in_region(regions.values("pk"))


PILOT_ACTIONS = "试点工作流"


def _pilot_action(serializer=None, summary: str = "", status_code: int = 200, response=None):
    return extend_schema(
        request=serializer,
        responses={status_code: response or s.PilotDetailSerializer},
        summary=summary,
        tags=[PILOT_ACTIONS],
    )


@extend_schema_view(
    list=extend_schema(summary="试点（含申报）"),
    retrieve=extend_schema(summary="试点详情"),
    create=extend_schema(
        summary="填报申报表（草稿，N3；带 call）或直接录入已批复试点（R2.2；不带 call）",
        request=PolymorphicProxySerializer(
            component_name="PilotCreate",
            serializers=[s.ApplicationSerializer, s.DirectEntrySerializer],
            resource_type_field_name=None,
        ),
        responses={201: s.PilotDetailSerializer},
        tags=[PILOT_ACTIONS],
    ),
    update=extend_schema(
        summary="修改申报表或直接录入的试点（备案前）",
        request=s.PilotUpdateSerializer,
        responses={200: s.PilotDetailSerializer},
        tags=[PILOT_ACTIONS],
    ),
    partial_update=extend_schema(
        summary="修改申报表或直接录入的试点（备案前，只改所提交的项）",
        request=s.PilotUpdateSerializer,
        responses={200: s.PilotDetailSerializer},
        tags=[PILOT_ACTIONS],
    ),
)
class PilotViewSet(ChineseMixin, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Pilots the user may see, in every state from draft application to purge."""

    serializer_class = s.PilotSerializer
    lookup_field = "code"
    lookup_value_regex = CODE
    filterset_class = PilotFilter
    filter_backends = ReadOnly.filter_backends
    search_fields = ["code", "name"]
    ordering_fields = ["code", "name", "start_date", "end_date", "approval_date", "updated_at"]
    ordering = ["-code"]

    def get_queryset(self):
        qs = (
            Pilot.objects.restrict(self.request.user)
            .select_related("lead_department", "applicant", "endorsing_prefecture")
            .prefetch_related("regions", "participating_units")
        )
        if self.action != "list":
            qs = qs.prefetch_related("milestones", "opinions__organisation", "overlap_flags__other")
        return qs

    def get_serializer_class(self):
        return s.PilotSerializer if self.action == "list" else s.PilotDetailSerializer

    def _pilot(self) -> Pilot:
        return policy.get_pilot_for(self.request.user, self.kwargs["code"])

    def _done(self, pilot: Pilot, status_code: int = 200) -> Response:
        fresh = self.get_queryset().get(pk=pilot.pk)
        return Response(s.PilotDetailSerializer(fresh).data, status=status_code)

    def create(self, request, *args, **kwargs):
        """With a `call`: an application drafted in it (N3), as the application page drafts
        it. Without: a pilot entered directly at *approved* by its lead department or the
        office (R2.2), as the direct-entry page enters it. Both are validated by the page's
        form (api.form_input) and written by the page's domain function."""
        payload = request.data
        if hasattr(payload, "get") and payload.get("call") not in (None, ""):
            return self._create_application(request, payload.get("call"))
        if not policy.can_enter_pilot(request.user):
            if policy.can_apply(request.user):
                raise ValidationError({"call": ["请选择申报批次：申报须在申报批次中填报（N3）。"]})
            raise PermissionDenied("只有省级牵头联系部门或省办可以直接录入试点。")
        form, milestones = validate_pilot_input(PilotForm, request, user=request.user)
        pilot = services.enter_pilot(
            actor=request.user,
            data=form.domain_data(),
            regions=form.cleaned_data["regions"],
            participating_units=form.cleaned_data["participating_units"],
            milestones=milestones or [],
            reason=form.cleaned_data.get("reason", ""),
        )
        return self._done(pilot, status.HTTP_201_CREATED)

    def _create_application(self, request, call_id) -> Response:
        if not policy.can_apply(request.user):
            raise PermissionDenied("只有设区市局或县（市、区）局可以填报申报表。")
        call = _call(call_id)
        if not call.is_open():
            raise DjangoValidationError("该申报批次已截止或已撤销，不能再填报。")
        form, milestones = validate_pilot_input(
            ApplicationForm, request, user=request.user, call=call
        )
        pilot = workflow.create_application(
            actor=request.user,
            call=call,
            data=form.domain_data(),
            regions=form.cleaned_data["regions"],
            participating_units=form.cleaned_data["participating_units"],
            milestones=milestones or [],
        )
        return self._done(pilot, status.HTTP_201_CREATED)

    def update(self, request, *args, partial: bool = False, **kwargs):
        """Edit a pilot's content while its owner may (a draft or returned application, a
        directly entered pilot before filing), through the edit page's form and
        `pilots.services.update_pilot`. PATCH leaves out what it does not send."""
        pilot = policy.get_pilot_for(request.user, self.kwargs["code"], "change")
        if pilot.origin == Origin.CALL:
            form_class, extra = ApplicationForm, {"call": pilot.call}
        else:
            form_class, extra = PilotForm, {}
        form, milestones = validate_pilot_input(
            form_class, request, instance=pilot, partial=partial, user=request.user, **extra
        )
        pilot = services.update_pilot(
            actor=request.user,
            pilot=pilot,
            data=form.domain_data(),
            regions=form.cleaned_data["regions"],
            participating_units=form.cleaned_data["participating_units"],
            milestones=milestones,
            reason=form.cleaned_data.get("reason", ""),
        )
        return self._done(pilot)

    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, partial=True, **kwargs)

    @_pilot_action(summary="提交申报（N3）")
    @action(detail=True, methods=["post"])
    def submit(self, request, code=None):
        return self._done(workflow.submit_application(actor=request.user, pilot=self._pilot()))

    @_pilot_action(s.NoteSerializer, "撤回申报")
    @action(detail=True, methods=["post"])
    def withdraw(self, request, code=None):
        note = _validated(s.NoteSerializer, request)["note"]
        pilot = workflow.withdraw_application(actor=request.user, pilot=self._pilot(), reason=note)
        return self._done(pilot)

    @_pilot_action(s.EndorseSerializer, "设区市推荐（N3，R1.1）")
    @action(detail=True, methods=["post"])
    def endorse(self, request, code=None):
        data = _validated(s.EndorseSerializer, request)
        pilot = workflow.prefecture_endorse(
            actor=request.user,
            pilot=self._pilot(),
            opinion=data["opinion"],
            checklist=data["checklist"],
        )
        return self._done(pilot)

    @_pilot_action(s.ReasonSerializer, "设区市退回修改（N3）")
    @action(detail=True, methods=["post"], url_path="prefecture-return")
    def prefecture_return(self, request, code=None):
        reason = _validated(s.ReasonSerializer, request)["reason"]
        pilot = workflow.prefecture_return(actor=request.user, pilot=self._pilot(), reason=reason)
        return self._done(pilot)

    @_pilot_action(s.DecisionWithChecklistSerializer, "设区市不予推荐（N3，R1.1）")
    @action(detail=True, methods=["post"], url_path="prefecture-reject")
    def prefecture_reject(self, request, code=None):
        data = _validated(s.DecisionWithChecklistSerializer, request)
        pilot = workflow.prefecture_reject(
            actor=request.user,
            pilot=self._pilot(),
            reason=data["reason"],
            checklist=data["checklist"],
        )
        return self._done(pilot)

    @_pilot_action(s.DepartmentOpinionSerializer, "牵头部门把关意见（N2）")
    @action(detail=True, methods=["post"], url_path="department-opinion")
    def department_opinion(self, request, code=None):
        data = _validated(s.DepartmentOpinionSerializer, request)
        pilot = self._pilot()
        workflow.department_opinion(
            actor=request.user,
            pilot=pilot,
            agree=data["agree"],
            text=data["text"],
            checklist=data["checklist"],
        )
        return self._done(pilot)

    @_pilot_action(s.ApproveSerializer, "省办批复（R2.2 备案期限起算）")
    @action(detail=True, methods=["post"])
    def approve(self, request, code=None):
        data = _validated(s.ApproveSerializer, request)
        pilot = workflow.office_approve(
            actor=request.user,
            pilot=self._pilot(),
            authority=data["authority"],
            doc_number=data["doc_number"],
            approval_date=data["approval_date"],
            opinion=data["opinion"],
            checklist=data["checklist"],
        )
        return self._done(pilot)

    @_pilot_action(s.DecisionWithChecklistSerializer, "省办不予通过")
    @action(detail=True, methods=["post"], url_path="office-reject")
    def office_reject(self, request, code=None):
        data = _validated(s.DecisionWithChecklistSerializer, request)
        pilot = workflow.office_reject(
            actor=request.user,
            pilot=self._pilot(),
            reason=data["reason"],
            checklist=data["checklist"],
        )
        return self._done(pilot)

    @_pilot_action(s.ReasonSerializer, "省办退回修改")
    @action(detail=True, methods=["post"], url_path="office-return")
    def office_return(self, request, code=None):
        reason = _validated(s.ReasonSerializer, request)["reason"]
        pilot = workflow.office_return(actor=request.user, pilot=self._pilot(), reason=reason)
        return self._done(pilot)

    @_pilot_action(s.OverlapVerdictSerializer, "判定重复交叉提示（R1.3）")
    @action(detail=True, methods=["post"], url_path=rf"overlaps/(?P<flag_id>{ID})")
    def overlap(self, request, code=None, flag_id=None):
        pilot = self._pilot()
        flag = get_object_or_404(OverlapFlag, pk=flag_id, pilot=pilot)
        data = _validated(s.OverlapVerdictSerializer, request)
        workflow.decide_overlap(
            actor=request.user, flag=flag, verdict=data["verdict"], note=data["note"]
        )
        return self._done(pilot)

    @extend_schema(
        request={"multipart/form-data": s.FilingInputSerializer},
        responses={201: s.FilingSerializer},
        summary="报送备案（R2.2，附试点方案）",
        tags=[PILOT_ACTIONS],
    )
    @action(detail=True, methods=["post"], url_path="file")
    def file(self, request, code=None):
        data = _validated(s.FilingInputSerializer, request)
        plan = data.pop("plan")
        filing = ledger.submit_filing(actor=request.user, pilot=self._pilot(), data=data, plan=plan)
        return Response(s.FilingSerializer(filing).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request={
            "application/json": s.QuarterlyReportInputSerializer,
            "multipart/form-data": s.QuarterlyReportInputSerializer,
        },
        responses={201: s.QuarterlyReportSerializer},
        summary="报送季度进展（R2.3）；同一季度再次报送即更正",
        tags=[PILOT_ACTIONS],
    )
    @action(detail=True, methods=["post"])
    def reports(self, request, code=None):
        data = _validated(s.QuarterlyReportInputSerializer, request)
        report = ledger.submit_quarterly_report(
            actor=request.user,
            pilot=self._pilot(),
            year=data["year"],
            quarter=data["quarter"],
            data=data,
            attachment=data.get("attachment"),
            correction_reason=data.get("correction_reason", ""),
        )
        return Response(s.QuarterlyReportSerializer(report).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request={
            "application/json": s.ClosureInputSerializer,
            "multipart/form-data": s.ClosureInputSerializer,
        },
        responses={201: s.ClosureReportSerializer},
        summary="报告销号（R2.4）",
        tags=[PILOT_ACTIONS],
    )
    @action(detail=True, methods=["post"])
    def closure(self, request, code=None):
        data = _validated(s.ClosureInputSerializer, request)
        report = term.report_closure(
            actor=request.user,
            pilot=self._pilot(),
            results=data["results"],
            experience=data["experience"],
            milestones_reached=data.get("milestones_reached", ""),
            attachment=data.get("attachment"),
        )
        return Response(s.ClosureReportSerializer(report).data, status=status.HTTP_201_CREATED)

    @_pilot_action(
        s.ExtensionInputSerializer, "申请延期（R2.4，R1.2）", 201, s.ExtensionRequestSerializer
    )
    @action(detail=True, methods=["post"])
    def extension(self, request, code=None):
        data = _validated(s.ExtensionInputSerializer, request)
        extension = term.request_extension(
            actor=request.user,
            pilot=self._pilot(),
            reason=data["reason"],
            new_end_date=data["new_end_date"],
            stage_targets=data["stage_targets"],
            milestones=_milestones(data["milestones"]),
        )
        return Response(
            s.ExtensionRequestSerializer(extension).data, status=status.HTTP_201_CREATED
        )

    @extend_schema(
        request={
            "application/json": s.AcceptanceInputSerializer,
            "multipart/form-data": s.AcceptanceInputSerializer,
        },
        responses={201: s.AcceptanceReportSerializer},
        summary="报送总结验收报告（R3.2）",
        tags=[PILOT_ACTIONS],
    )
    @action(detail=True, methods=["post"])
    def acceptance(self, request, code=None):
        data = _validated(s.AcceptanceInputSerializer, request)
        report = term.submit_acceptance_report(
            actor=request.user,
            pilot=self._pilot(),
            summary=data["summary"],
            evaluator=data["evaluator"],
            third_party=data.get("third_party", ""),
            attachment=data.get("attachment"),
        )
        return Response(s.AcceptanceReportSerializer(report).data, status=status.HTTP_201_CREATED)

    @_pilot_action(s.ReasonSerializer, "恢复入库（R2.4）")
    @action(detail=True, methods=["post"])
    def restore(self, request, code=None):
        reason = _validated(s.ReasonSerializer, request)["reason"]
        return self._done(
            term.restore_pilot(actor=request.user, pilot=self._pilot(), reason=reason)
        )


# --- records of the pilots the user sees ---------------------------------------------------


class PilotRecords(ReadOnly):
    """Records belonging to pilots: visible when their pilot is."""

    model = None
    related = ("pilot",)
    ordering_fields = ["id"]

    def get_queryset(self):
        return (
            self.model.objects.filter(pilot__in=_visible(self.request.user))
            .select_related(*self.related)
            .order_by("-pk")
        )


def _record_action(serializer, response, summary: str):
    return extend_schema(request=serializer, responses={200: response}, summary=summary)


@extend_schema_view(
    list=extend_schema(summary="备案（R2.2）"), retrieve=extend_schema(summary="备案")
)
class FilingViewSet(PilotRecords):
    model = Filing
    serializer_class = s.FilingSerializer
    filterset_fields = ["status", "pilot__code"]
    ordering_fields = ["id", "filed_on", "due_date"]

    @_record_action(None, s.FilingSerializer, "省办确认备案，列入台账（R2.2）")
    @action(detail=True, methods=["post"])
    def confirm(self, request, pk=None):
        filing = ledger.confirm_filing(actor=request.user, filing=self.get_object())
        return Response(s.FilingSerializer(filing).data)

    @_record_action(s.ReasonSerializer, s.FilingSerializer, "省办退回备案")
    @action(detail=True, methods=["post"], url_path="return")
    def return_(self, request, pk=None):
        reason = _validated(s.ReasonSerializer, request)["reason"]
        filing = ledger.return_filing(actor=request.user, filing=self.get_object(), reason=reason)
        return Response(s.FilingSerializer(filing).data)


@extend_schema_view(
    list=extend_schema(summary="季度进展（R2.3）"), retrieve=extend_schema(summary="季度进展")
)
class QuarterlyReportViewSet(PilotRecords):
    model = QuarterlyReport
    related = ("pilot", "organisation")
    serializer_class = s.QuarterlyReportSerializer
    filterset_fields = ["year", "quarter", "is_current", "pilot__code"]
    ordering_fields = ["id", "year", "quarter", "submitted_at"]


@extend_schema_view(
    list=extend_schema(summary="销号报告（R2.4）"), retrieve=extend_schema(summary="销号报告")
)
class ClosureViewSet(PilotRecords):
    model = ClosureReport
    related = ("pilot", "organisation")
    serializer_class = s.ClosureReportSerializer
    filterset_fields = ["status", "pilot__code"]

    @_record_action(s.NoteSerializer, s.ClosureReportSerializer, "省办同意销号")
    @action(detail=True, methods=["post"])
    def accept(self, request, pk=None):
        note = _validated(s.NoteSerializer, request)["note"]
        report = term.accept_closure(actor=request.user, report=self.get_object(), note=note)
        return Response(s.ClosureReportSerializer(report).data)

    @_record_action(s.ReasonSerializer, s.ClosureReportSerializer, "省办退回销号报告")
    @action(detail=True, methods=["post"], url_path="return")
    def return_(self, request, pk=None):
        reason = _validated(s.ReasonSerializer, request)["reason"]
        report = term.return_closure(actor=request.user, report=self.get_object(), reason=reason)
        return Response(s.ClosureReportSerializer(report).data)


@extend_schema_view(
    list=extend_schema(summary="延期申请（R2.4）"), retrieve=extend_schema(summary="延期申请")
)
class ExtensionViewSet(PilotRecords):
    model = ExtensionRequest
    related = ("pilot", "organisation")
    serializer_class = s.ExtensionRequestSerializer
    filterset_fields = ["status", "pilot__code"]

    @_record_action(s.NoteSerializer, s.ExtensionRequestSerializer, "省办批准延期")
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        note = _validated(s.NoteSerializer, request)["note"]
        extension = term.approve_extension(actor=request.user, request=self.get_object(), note=note)
        return Response(s.ExtensionRequestSerializer(extension).data)

    @_record_action(s.ReasonSerializer, s.ExtensionRequestSerializer, "省办不予延期")
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        reason = _validated(s.ReasonSerializer, request)["reason"]
        extension = term.reject_extension(
            actor=request.user, request=self.get_object(), reason=reason
        )
        return Response(s.ExtensionRequestSerializer(extension).data)


@extend_schema_view(
    list=extend_schema(summary="总结验收报告（R3.2）"),
    retrieve=extend_schema(summary="总结验收报告"),
)
class AcceptanceViewSet(PilotRecords):
    model = AcceptanceReport
    related = ("pilot", "organisation")
    serializer_class = s.AcceptanceReportSerializer
    filterset_fields = ["is_current", "pilot__code"]


@extend_schema_view(
    list=extend_schema(summary="评估（R3.2）"), retrieve=extend_schema(summary="评估")
)
class EvaluationViewSet(PilotRecords):
    model = Evaluation
    related = ("pilot", "organisation", "scorecard")
    serializer_class = s.EvaluationSerializer
    filterset_fields = ["stage", "rating", "pilot__code"]
    ordering_fields = ["id", "evaluated_on", "score"]


@extend_schema_view(
    list=extend_schema(summary="督察记录（R3.3）"), retrieve=extend_schema(summary="督察记录")
)
class InspectionViewSet(PilotRecords):
    model = Inspection
    serializer_class = s.InspectionSerializer
    filterset_fields = ["pilot__code"]
    ordering_fields = ["id", "inspected_on"]

    def get_queryset(self):
        return super().get_queryset().prefetch_related("rectifications__organisation")


# --- half-year summaries, notifications, the user ---------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="半年汇总（R2.3）"), retrieve=extend_schema(summary="半年汇总")
)
class SummaryViewSet(ReadOnly):
    """The office sees every department's summaries; a lead department its own."""

    serializer_class = s.HalfYearSummarySerializer
    filterset_fields = ["year", "half", "status"]
    ordering_fields = ["id", "year", "half"]

    def get_queryset(self):
        qs = HalfYearSummary.objects.select_related("organisation").order_by("-pk")
        orgs = responsible_org_ids(self.request.user)  # None: the office, all of them
        return qs if orgs is None else qs.filter(organisation_id__in=orgs)

    @extend_schema(
        request=s.SummaryDraftSerializer,
        responses={200: s.HalfYearSummarySerializer},
        summary="起草（或重新起草）本部门半年汇总（R2.3）",
    )
    @action(detail=False, methods=["post"])
    def draft(self, request):
        data = _validated(s.SummaryDraftSerializer, request)
        if request.user.organisation is None:
            raise ValidationError({"detail": "您的账号未关联单位，不能起草半年汇总。"})
        summary = ledger.draft_half_year_summary(
            actor=request.user,
            organisation=request.user.organisation,
            year=data["year"],
            half=data["half"],
            refresh=True,
        )
        return Response(s.HalfYearSummarySerializer(summary).data)

    @extend_schema(
        request=s.SummarySubmitSerializer,
        responses={200: s.HalfYearSummarySerializer},
        summary="报送半年汇总（R2.3）",
    )
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        data = _validated(s.SummarySubmitSerializer, request)
        summary = ledger.submit_half_year_summary(
            actor=request.user, summary=self.get_object(), data=data
        )
        return Response(s.HalfYearSummarySerializer(summary).data)


class NotificationFilter(django_filters.FilterSet):
    unread = django_filters.BooleanFilter(
        field_name="read_at", lookup_expr="isnull", label="仅看未读"
    )

    class Meta:
        model = Notification
        fields = ["unread"]


class ReadSerializer(serializers.Serializer):
    marked = serializers.IntegerField()


@extend_schema_view(
    list=extend_schema(summary="本单位通知"), retrieve=extend_schema(summary="通知")
)
class NotificationViewSet(ReadOnly):
    queryset = Notification.objects.none()  # for the schema; get_queryset gives the user's
    serializer_class = s.NotificationSerializer
    filterset_class = NotificationFilter
    ordering_fields = ["id", "created_at"]

    def get_queryset(self):
        return notices_for(self.request.user).order_by("-created_at", "-pk")

    @extend_schema(request=None, responses={200: ReadSerializer}, summary="标记为已读")
    @action(detail=True, methods=["post"])
    def read(self, request, pk=None):
        notice: Notification = self.get_object()
        return Response({"marked": mark_read(request.user, notice.pk)})

    @extend_schema(request=None, responses={200: ReadSerializer}, summary="全部标记为已读")
    @action(detail=False, methods=["post"], url_path="read-all")
    def read_all(self, request):
        return Response({"marked": mark_read(request.user)})


class MeView(ChineseMixin, APIView):
    @extend_schema(responses={200: s.MeSerializer}, summary="当前用户")
    def get(self, request):
        user = request.user
        return Response(
            s.MeSerializer(
                {
                    "username": user.username,
                    "display_name": user.display_name,
                    "role": policy.role_of(user) or "",
                    "organisation": user.organisation,
                }
            ).data
        )
