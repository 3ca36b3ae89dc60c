"""Pages of calls and applications: the call list and detail, the application form (申报表),
the screening page where each party records its checklist, overlap verdicts and decision,
and the documents (the form as PDF, a call's applications as Excel)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import FieldDoesNotExist, PermissionDenied, ValidationError
from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from accounts.constants import OrgKind
from accounts.models import Organisation
from core.forms import add_domain_errors
from core.views import bound_data, content_disposition
from pilots import calls, policy, screening
from pilots.constants import Origin, OverlapVerdict, Stage, Status
from pilots.forms import (
    ApplicationForm,
    ApprovalForm,
    CallForm,
    ChecklistForm,
    DepartmentOpinionForm,
    MilestoneFormSet,
    OverlapVerdictForm,
    ReasonForm,
    milestones_from,
    validate_with,
)
from pilots.models import Call, OverlapFlag, Pilot
from pilots.panels import SCREENING_PAGE, panels_for

# --- calls --------------------------------------------------------------------------------


@login_required
def call_list(request: HttpRequest) -> HttpResponse:
    # The count is of the applications the viewer may see (N3: another unit's drafts and
    # unendorsed applications are not even counted).
    visible = policy.visible_pilots(request.user).filter(call=OuterRef("pk"))
    rows = Call.objects.filter(is_cancelled=False).annotate(
        n=Coalesce(
            Subquery(visible.order_by().values("call").annotate(c=Count("pk")).values("c")), 0
        )
    )
    return render(
        request,
        "pilots/call_list.html",
        {"calls": rows, "now": timezone.now(), "can_open": policy.can_open_call(request.user)},
    )


@login_required
@require_http_methods(["GET", "POST"])
def call_create(request: HttpRequest) -> HttpResponse:
    if not policy.can_open_call(request.user):
        raise PermissionDenied("只有省办可以发布申报批次。")
    form = CallForm(bound_data(request))
    if request.method == "POST" and form.is_valid():
        try:
            call = calls.open_call(
                actor=request.user,
                title=form.cleaned_data["title"],
                deadline=form.cleaned_data["deadline"],
                fields=form.cleaned_data["fields_covered"],
                prefecture_quota=form.cleaned_data["prefecture_quota"],
                description=form.cleaned_data["description"],
            )
        except ValidationError as exc:
            add_domain_errors(form, exc)
        else:
            messages.success(request, f"已发布申报批次“{call.title}”。")
            return redirect(call)
    return render(request, "pilots/call_form.html", {"form": form})


def _get_call(pk: int) -> Call:
    return get_object_or_404(Call, pk=pk, is_cancelled=False)


@login_required
def call_detail(request: HttpRequest, pk: int) -> HttpResponse:
    call = _get_call(pk)
    applications = (
        Pilot.objects.restrict(request.user)
        .filter(call=call)
        .select_related("applicant", "lead_department", "endorsing_prefecture")
        .order_by("applicant__parent__sort_order", "applicant__sort_order", "code")
    )
    quota_rows = _quota_rows(request.user, call)
    return render(
        request,
        "pilots/call_detail.html",
        {
            "call": call,
            "applications": applications,
            "quota_rows": quota_rows,
            "can_apply": policy.can_apply(request.user) and call.is_open(),
            "can_export": policy.is_office(request.user)
            or request.user.role in ("prefecture", "lead_department"),
        },
    )


def _quota_rows(user, call: Call) -> list[dict]:
    """N3: each prefecture's endorsements against the call's quota (the office sees all,
    a prefecture its own line)."""
    used = dict(
        Pilot.objects.filter(call=call, endorsing_prefecture__isnull=False)
        .values_list("endorsing_prefecture")
        .annotate(n=Count("pk"))
        .values_list("endorsing_prefecture", "n")
    )
    prefectures = Organisation.objects.filter(kind=OrgKind.PREFECTURE).order_by(
        "sort_order", "code"
    )
    if not policy.is_office(user):
        if user.organisation is None or user.organisation.kind != OrgKind.PREFECTURE:
            return []
        prefectures = prefectures.filter(pk=user.organisation_id)
    return [
        {"org": p, "used": used.get(p.pk, 0), "quota": call.prefecture_quota} for p in prefectures
    ]


@login_required
def call_export(request: HttpRequest, pk: int) -> HttpResponse:
    """A call's applications that the user may see, as an Excel sheet for the meeting."""
    from pilots.documents import call_applications_xlsx

    call = _get_call(pk)
    pilots = (
        Pilot.objects.restrict(request.user)
        .filter(call=call)
        .exclude(status__in=[Status.DRAFT, Status.WITHDRAWN])
        .order_by("code")
    )
    content = call_applications_xlsx(call, pilots)
    response = HttpResponse(
        content,
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    stamp = timezone.localdate().strftime("%Y%m%d")
    response["Content-Disposition"] = content_disposition(f"{call.title}-申报汇总-{stamp}.xlsx")
    response["X-Content-Type-Options"] = "nosniff"
    return response


# --- the application form -------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def application_create(request: HttpRequest, pk: int) -> HttpResponse:
    call = _get_call(pk)
    if not policy.can_apply(request.user):
        raise PermissionDenied("只有设区市局或县（市、区）局可以填报申报表。")
    if not call.is_open():
        messages.error(request, "该申报批次已截止，不能再填报。")
        return redirect(call)
    form = ApplicationForm(
        bound_data(request),
        request.FILES or None,
        user=request.user,
        call=call,
        submitting=bool(request.POST.get("submit_now")),
    )
    formset = MilestoneFormSet(bound_data(request), prefix="ms")
    if request.method == "POST" and validate_with(form, formset):
        try:
            pilot = calls.create_application(
                actor=request.user,
                call=call,
                data=form.domain_data(),
                regions=form.cleaned_data["regions"],
                participating_units=form.cleaned_data["participating_units"],
                milestones=milestones_from(formset),
            )
        except ValidationError as exc:
            add_domain_errors(form, exc)
        else:
            return _after_save(request, pilot)
    return render(
        request,
        "pilots/application_form.html",
        {"form": form, "formset": formset, "call": call, "creating": True},
    )


def _after_save(request: HttpRequest, pilot: Pilot) -> HttpResponse:
    """ "保存草稿" keeps the draft; "保存并提交" also submits it to the prefecture."""
    if request.POST.get("submit_now"):
        try:
            calls.submit_application(actor=request.user, pilot=pilot)
        except ValidationError as exc:
            messages.warning(request, "草稿已保存，但尚不能提交。" + why_not_submitted(pilot, exc))
            return redirect("pilots:edit", code=pilot.code)
        messages.success(request, f"申报 {pilot.code} 已提交设区市把关。")
    else:
        messages.success(request, f"申报 {pilot.code} 已保存为草稿。")
    return redirect(pilot)


def _sentence(message: str) -> str:
    return message.rstrip("。；;.，, ") + "。"


def _left_empty(pilot: Pilot, name: str) -> bool:
    """Whether the error on `name` is that the field was left empty."""
    if name == "regions":
        return not pilot.regions.exists()
    try:
        value = getattr(pilot, Pilot._meta.get_field(name).attname)
    except FieldDoesNotExist:  # "__all__": the milestones, the term as a whole
        return False
    return value is None or (isinstance(value, str) and not value.strip())


def why_not_submitted(pilot: Pilot, exc: ValidationError) -> str:
    """Why submission was refused, in one message: the fields left empty by name ("请先填写：
    试点名称、起止日期。"), then every other problem, each sentence ending once."""
    if not hasattr(exc, "error_dict"):
        return "".join(dict.fromkeys(_sentence(m) for m in exc.messages))
    missing: list[str] = []
    others: list[str] = []
    for name, found in exc.message_dict.items():
        if _left_empty(pilot, name):
            dates = name in ("start_date", "end_date")
            label = "起止日期" if dates else str(Pilot._meta.get_field(name).verbose_name)
            if label not in missing:
                missing.append(label)
        else:
            others.extend(_sentence(m) for m in found)
    head = ["请先填写：" + "、".join(missing) + "。"] if missing else []
    return "".join(dict.fromkeys(head + others))


# --- actions on one application ---------------------------------------------------------------


@login_required
@require_POST
def application_submit(request: HttpRequest, code: str) -> HttpResponse:
    pilot = policy.get_pilot_for(request.user, code)
    try:
        calls.submit_application(actor=request.user, pilot=pilot)
    except ValidationError as exc:
        messages.error(request, "尚不能提交。" + why_not_submitted(pilot, exc))
    else:
        messages.success(request, "已提交设区市把关。")
    return redirect(pilot)


@login_required
@require_POST
def application_withdraw(request: HttpRequest, code: str) -> HttpResponse:
    pilot = policy.get_pilot_for(request.user, code)
    try:
        calls.withdraw_application(
            actor=request.user, pilot=pilot, reason=request.POST.get("reason", "")[:500]
        )
    except ValidationError as exc:
        messages.error(request, "不能撤回：" + "；".join(exc.messages))
    else:
        messages.success(request, "申报已撤回。")
    return redirect(pilot)


# The decisions each screening party may take, with the form each needs.
DECISIONS = {
    Stage.PREFECTURE: {
        "endorse": ("推荐上报", ReasonForm, True),
        "return": ("退回修改", ReasonForm, False),
        "reject": ("不予推荐", ReasonForm, True),
    },
    Stage.DEPARTMENT: {"opinion": ("提出把关意见", DepartmentOpinionForm, True)},
    Stage.OFFICE: {
        "approve": ("批复同意", ApprovalForm, True),
        "return": ("退回修改", ReasonForm, False),
        "reject": ("不予通过", ReasonForm, True),
    },
}


@login_required
@require_http_methods(["GET", "POST"])
def application_screen(request: HttpRequest, code: str) -> HttpResponse:
    """The screening page: the R1.1 checklist, the R1.3 overlap flags with their verdicts, and
    the decisions open to the user's party (prefecture N3, lead department N2, office)."""
    pilot = policy.get_pilot_for(request.user, code)
    stage = policy.screening_role(request.user, pilot)
    if stage is None:
        raise PermissionDenied("该申报当前不需要您所在单位把关。")
    decisions = DECISIONS[stage]
    action = request.POST.get("action", "")
    checklist = ChecklistForm(request.POST if action else None, prefix="ck")
    forms_by_action = {
        key: form_class(
            request.POST if action == key else None,
            prefix=key,
            initial={"approval_date": timezone.localdate()} if key == "approve" else None,
        )
        for key, (_label, form_class, _needs) in decisions.items()
    }
    if request.method == "POST":
        if action not in decisions:
            messages.error(request, "未知的操作。")
            return redirect("pilots:screen", code=pilot.code)
        _label, _form_class, needs_checklist = decisions[action]
        form = forms_by_action[action]
        checklist_ok = checklist.is_valid() if needs_checklist else True
        if form.is_valid() and checklist_ok:
            try:
                _decide(
                    request.user, pilot, stage, action, form, checklist if needs_checklist else None
                )
            except ValidationError as exc:
                for message in exc.messages:
                    form.add_error(None, message)
            else:
                messages.success(request, f"已{decisions[action][0]}。")
                return redirect(pilot)
    flags = policy.overlap_flags_for(request.user, pilot)
    panels, panel_context = panels_for(
        request.user, pilot, policy.for_pilot(request.user, pilot), page=SCREENING_PAGE
    )
    return render(
        request,
        "pilots/application_screen.html",
        {
            "pilot": pilot,
            "stage": stage,
            "stage_label": Stage(stage).label,
            "checklist": checklist,
            "decision_forms": [
                (key, decisions[key][0], forms_by_action[key], decisions[key][2])
                for key in decisions
            ],
            "flags": flags,
            "verdict_form": OverlapVerdictForm(),
            "pending_flags": sum(
                1 for f in flags if f.verdict == OverlapVerdict.PENDING and not f.hidden
            ),
            "opinions": pilot.opinions.select_related("organisation", "author"),
            # N2: the office is warned before deciding without the lead department's opinion.
            "awaiting_department_opinion": stage == Stage.OFFICE
            and not pilot.opinions.filter(stage=Stage.DEPARTMENT).exists(),
            "regions": pilot.regions.all(),
            "milestones": pilot.milestones.filter(is_removed=False),
            "panels": panels,
            **panel_context,
        },
    )


def _decide(user, pilot, stage, action, form, checklist) -> None:
    data = form.cleaned_data
    answers = checklist.answers() if checklist is not None else None
    if stage == Stage.PREFECTURE:
        if action == "endorse":
            screening.prefecture_endorse(
                actor=user, pilot=pilot, opinion=data["reason"], checklist=answers
            )
        elif action == "return":
            screening.prefecture_return(actor=user, pilot=pilot, reason=data["reason"])
        else:
            screening.prefecture_reject(
                actor=user, pilot=pilot, reason=data["reason"], checklist=answers
            )
    elif stage == Stage.DEPARTMENT:
        screening.department_opinion(
            actor=user,
            pilot=pilot,
            agree=data["agree"] == "yes",
            text=data["reason"],
            checklist=answers,
        )
    elif action == "approve":
        screening.office_approve(
            actor=user,
            pilot=pilot,
            authority=data["authority"],
            doc_number=data["doc_number"],
            approval_date=data["approval_date"],
            opinion=data.get("reason", ""),
            checklist=answers,
        )
    elif action == "return":
        screening.office_return(actor=user, pilot=pilot, reason=data["reason"])
    else:
        screening.office_reject(actor=user, pilot=pilot, reason=data["reason"], checklist=answers)


@login_required
@require_POST
def overlap_verdict(request: HttpRequest, code: str, flag_id: int) -> HttpResponse:
    pilot = policy.get_pilot_for(request.user, code)
    flag = get_object_or_404(OverlapFlag, pk=flag_id, pilot=pilot)
    form = OverlapVerdictForm(request.POST)
    if not form.is_valid():
        messages.error(request, "请选择判定结果。")
    else:
        try:
            screening.decide_overlap(
                actor=request.user,
                flag=flag,
                verdict=form.cleaned_data["verdict"],
                note=form.cleaned_data["note"],
            )
        except ValidationError as exc:
            messages.error(request, "；".join(exc.messages))
        else:
            messages.success(request, "已记录判定。")
    return redirect("pilots:screen", code=pilot.code)


@login_required
def application_pdf(request: HttpRequest, code: str) -> HttpResponse:
    """The filled application form as a printable PDF."""
    from pilots.documents import application_pdf as render_pdf

    pilot = policy.get_pilot_for(request.user, code)
    if pilot.origin != Origin.CALL:
        raise Http404("该试点不是通过申报批次产生的，没有申报表。")
    response = HttpResponse(render_pdf(pilot), content_type="application/pdf")
    response["Content-Disposition"] = content_disposition(f"{pilot.code}-申报表.pdf")
    response["X-Content-Type-Options"] = "nosniff"
    return response
