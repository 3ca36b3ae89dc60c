"""Pilots, from draft application to purge: listed and shown as the user may see them,
applied for in a call (N3) or entered directly (R2.2), edited before filing, and taken
through the review of an application (N2, N3, R1.1, R1.3). The actions that file or report
on a pilot live with their records (api.views.ledger, api.views.term)."""

from __future__ import annotations

import django_filters
from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Q
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from accounts.models import Organisation
from api.form_input import validate_pilot_input
from api.serializers.calls import ApplicationSerializer
from api.serializers.common import NoteSerializer, ReasonSerializer
from api.serializers.pilots import (
    DirectEntrySerializer,
    PilotDetailSerializer,
    PilotSerializer,
    PilotUpdateSerializer,
)
from api.serializers.workflow import (
    ApproveSerializer,
    DecisionWithChecklistSerializer,
    DepartmentOpinionSerializer,
    EndorseSerializer,
    OverlapVerdictSerializer,
)
from api.views.common import (
    CODE,
    ID,
    PILOT_ACTIONS,
    ChineseMixin,
    ReadOnly,
    SafeSearchFilter,
    pilot_action,
    validated,
)
from api.views.ledger import PilotLedgerActions
from api.views.term import PilotTermActions
from pilots import calls, policy, screening, services
from pilots.constants import Origin, PilotKind, ReformField, Status
from pilots.forms import ApplicationForm, PilotForm
from pilots.models import Call, OverlapFlag, Pilot
from pilots.search import search_pilots


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


class PilotSearchFilter(SafeSearchFilter):
    """?search=: the pilot list's own search (pilots.search), served by the same indexes and
    splitting the words as the pages do (DRF's own split drops quotes and commas, so `'`
    matched every pilot here and nothing on the pages)."""

    def filter_queryset(self, request, queryset, view):
        self.get_search_terms(request)  # refuses control characters and over-long text
        return search_pilots(queryset, request.query_params.get(self.search_param, ""))


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


@extend_schema_view(
    list=extend_schema(summary="试点（含申报）"),
    retrieve=extend_schema(summary="试点详情"),
    create=extend_schema(
        summary="填报申报表（草稿，N3；带 call）或直接录入已批复试点（R2.2；不带 call）",
        request=PolymorphicProxySerializer(
            component_name="PilotCreate",
            serializers=[ApplicationSerializer, DirectEntrySerializer],
            resource_type_field_name=None,
        ),
        responses={201: PilotDetailSerializer},
        tags=[PILOT_ACTIONS],
    ),
    update=extend_schema(
        summary="修改申报表或直接录入的试点（备案前）",
        request=PilotUpdateSerializer,
        responses={200: PilotDetailSerializer},
        tags=[PILOT_ACTIONS],
    ),
    partial_update=extend_schema(
        summary="修改申报表或直接录入的试点（备案前，只改所提交的项）",
        request=PilotUpdateSerializer,
        responses={200: PilotDetailSerializer},
        tags=[PILOT_ACTIONS],
    ),
)
class PilotViewSet(
    ChineseMixin,
    PilotLedgerActions,
    PilotTermActions,
    mixins.CreateModelMixin,
    viewsets.ReadOnlyModelViewSet,
):
    """Pilots the user may see, in every state from draft application to purge."""

    serializer_class = PilotSerializer
    lookup_field = "code"
    lookup_value_regex = CODE
    filterset_class = PilotFilter
    filter_backends = [*ReadOnly.filter_backends[:-1], PilotSearchFilter]
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
        return PilotSerializer if self.action == "list" else PilotDetailSerializer

    def _done(self, pilot: Pilot, status_code: int = 200) -> Response:
        fresh = self.get_queryset().get(pk=pilot.pk)
        return Response(PilotDetailSerializer(fresh).data, status=status_code)

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
        pilot = calls.create_application(
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

    @pilot_action(summary="提交申报（N3）")
    @action(detail=True, methods=["post"])
    def submit(self, request, code=None):
        return self._done(calls.submit_application(actor=request.user, pilot=self._pilot()))

    @pilot_action(NoteSerializer, "撤回申报")
    @action(detail=True, methods=["post"])
    def withdraw(self, request, code=None):
        note = validated(NoteSerializer, request)["note"]
        pilot = calls.withdraw_application(actor=request.user, pilot=self._pilot(), reason=note)
        return self._done(pilot)

    @pilot_action(EndorseSerializer, "设区市推荐（N3，R1.1）")
    @action(detail=True, methods=["post"])
    def endorse(self, request, code=None):
        data = validated(EndorseSerializer, request)
        pilot = screening.prefecture_endorse(
            actor=request.user,
            pilot=self._pilot(),
            opinion=data["opinion"],
            checklist=data["checklist"],
        )
        return self._done(pilot)

    @pilot_action(ReasonSerializer, "设区市退回修改（N3）")
    @action(detail=True, methods=["post"], url_path="prefecture-return")
    def prefecture_return(self, request, code=None):
        reason = validated(ReasonSerializer, request)["reason"]
        pilot = screening.prefecture_return(actor=request.user, pilot=self._pilot(), reason=reason)
        return self._done(pilot)

    @pilot_action(DecisionWithChecklistSerializer, "设区市不予推荐（N3，R1.1）")
    @action(detail=True, methods=["post"], url_path="prefecture-reject")
    def prefecture_reject(self, request, code=None):
        data = validated(DecisionWithChecklistSerializer, request)
        pilot = screening.prefecture_reject(
            actor=request.user,
            pilot=self._pilot(),
            reason=data["reason"],
            checklist=data["checklist"],
        )
        return self._done(pilot)

    @pilot_action(DepartmentOpinionSerializer, "牵头部门把关意见（N2）")
    @action(detail=True, methods=["post"], url_path="department-opinion")
    def department_opinion(self, request, code=None):
        data = validated(DepartmentOpinionSerializer, request)
        pilot = self._pilot()
        screening.department_opinion(
            actor=request.user,
            pilot=pilot,
            agree=data["agree"],
            text=data["text"],
            checklist=data["checklist"],
        )
        return self._done(pilot)

    @pilot_action(ApproveSerializer, "省办批复（R2.2 备案期限起算）")
    @action(detail=True, methods=["post"])
    def approve(self, request, code=None):
        data = validated(ApproveSerializer, request)
        pilot = screening.office_approve(
            actor=request.user,
            pilot=self._pilot(),
            authority=data["authority"],
            doc_number=data["doc_number"],
            approval_date=data["approval_date"],
            opinion=data["opinion"],
            checklist=data["checklist"],
        )
        return self._done(pilot)

    @pilot_action(DecisionWithChecklistSerializer, "省办不予通过")
    @action(detail=True, methods=["post"], url_path="office-reject")
    def office_reject(self, request, code=None):
        data = validated(DecisionWithChecklistSerializer, request)
        pilot = screening.office_reject(
            actor=request.user,
            pilot=self._pilot(),
            reason=data["reason"],
            checklist=data["checklist"],
        )
        return self._done(pilot)

    @pilot_action(ReasonSerializer, "省办退回修改")
    @action(detail=True, methods=["post"], url_path="office-return")
    def office_return(self, request, code=None):
        reason = validated(ReasonSerializer, request)["reason"]
        pilot = screening.office_return(actor=request.user, pilot=self._pilot(), reason=reason)
        return self._done(pilot)

    @pilot_action(OverlapVerdictSerializer, "判定重复交叉提示（R1.3）")
    @action(detail=True, methods=["post"], url_path=rf"overlaps/(?P<flag_id>{ID})")
    def overlap(self, request, code=None, flag_id=None):
        pilot = self._pilot()
        flag = get_object_or_404(OverlapFlag, pk=flag_id, pilot=pilot)
        data = validated(OverlapVerdictSerializer, request)
        screening.decide_overlap(
            actor=request.user, flag=flag, verdict=data["verdict"], note=data["note"]
        )
        return self._done(pilot)
