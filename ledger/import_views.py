"""The Excel import pages: upload a ledger workbook or a reform implementation plan, read the
preview with every row's errors, confirm; and the imported plans with their items and tasks.

Only the office imports (ledger.imports.can_import); every step is a function of
ledger.imports, which these views call and nothing else."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Prefetch
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from core.views import per_page
from core.xlsx import XLSX_CONTENT_TYPE
from ledger.constants import ImportKind, ImportStatus
from ledger.imports.batches import (
    CHECK_SHARE,
    can_import,
    count_actions,
    preview_pilot_import,
    preview_plan_import,
)
from ledger.imports.jobs import fail_stale_batches, request_apply
from ledger.models import ImportBatch, PlanItem, PlanTask, ReformPlan

SAMPLE_PLAN = Path(__file__).resolve().parent / "data" / "xinfu-reform-plan-2018.xlsx"
SAMPLE_PLAN_NAME = "改革实施方案导入样例（新府2018）.xlsx"
RECENT_BATCHES = 20
# The preview's rows may be filtered to one action.
ROW_FILTERS = {"error": "有错误", "create": "新建", "update": "更新", "unchanged": "无变化"}
RUNNING_STATES = (ImportStatus.QUEUED, ImportStatus.RUNNING)


class ImportForm(forms.Form):
    kind = forms.ChoiceField(
        label="导入内容", choices=ImportKind.choices, widget=forms.RadioSelect, initial="pilots"
    )
    file = forms.FileField(label="Excel文件（.xlsx）")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].error_messages["required"] = "请选择导入内容。"
        self.fields["kind"].error_messages["invalid_choice"] = "请选择导入内容。"
        self.fields["file"].error_messages["required"] = "请选择要导入的Excel文件。"
        self.fields["file"].error_messages["empty"] = "上传的文件是空的。"


def _require_importer(request: HttpRequest) -> None:
    if not can_import(request.user):
        raise PermissionDenied("只有省办可以导入台账和改革实施方案。")


@login_required
@require_http_methods(["GET", "POST"])
def import_upload(request: HttpRequest) -> HttpResponse:
    """Step 1: choose what to import and upload the workbook; its preview follows."""
    _require_importer(request)
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        preview = (
            preview_pilot_import
            if form.cleaned_data["kind"] == ImportKind.PILOTS
            else preview_plan_import
        )
        batch = preview(actor=request.user, upload=form.cleaned_data["file"])
        if batch.status == ImportStatus.FAILED and not batch.file:
            # Not a workbook at all: say why on the form; the attempt is on record.
            for error in batch.errors:
                form.add_error("file", error["message"])
        else:
            return redirect("ledger:import_batch", pk=batch.pk)
    batches = ImportBatch.objects.select_related("created_by").defer("preview")[:RECENT_BATCHES]
    return render(request, "ledger/import/upload.html", {"form": form, "batches": batches})


@login_required
def import_batch(request: HttpRequest, pk: int) -> HttpResponse:
    """The preview, summarised and paged: the rows by what they do, the errors first (each
    with its row and column), a page of rows at a time, and the button to confirm when there
    is no error. Once confirmed, the job's progress (the page reloads itself) and then its
    result; a job whose worker died is shown failed, to be retried."""
    _require_importer(request)
    batch = get_object_or_404(ImportBatch, pk=pk)
    if batch.status in RUNNING_STATES and fail_stale_batches(batch_pk=batch.pk):
        batch.refresh_from_db()
    batch = ImportBatch.objects.select_related("created_by").get(pk=batch.pk)
    rows = batch.preview or []
    counts = batch.counts or count_actions(rows)
    show = request.GET.get("show", "")
    if show in ROW_FILTERS:
        rows = [row for row in rows if row.get("action") == show]
    else:
        show = ""
        # Errors first, then the rows in the sheet's order.
        rows = sorted(rows, key=lambda row: row.get("action") != "error")
    size = per_page(request)
    page = Paginator(rows, per_page=size).get_page(request.GET.get("page"))
    errors = Paginator(batch.errors or [], per_page=size).get_page(request.GET.get("errors"))
    query = urlencode({k: v for k, v in (("show", show), ("per_page", size)) if v})
    return render(
        request,
        "ledger/import/batch.html",
        {
            "batch": batch,
            "page": page,
            "errors_page": errors,
            "query": query,
            "show": show,
            "show_label": ROW_FILTERS.get(show, ""),
            "filters": ROW_FILTERS,
            "counts": counts,
            "is_plan": batch.kind == ImportKind.REFORM_PLAN,
            "can_apply": batch.status == ImportStatus.PREVIEWED and not batch.errors,
            "can_retry": batch.status == ImportStatus.APPLY_FAILED and not batch.errors,
            "running": batch.status in RUNNING_STATES,
            "checking": batch.status == ImportStatus.RUNNING and batch.progress < CHECK_SHARE,
            "plan": _plan_of(batch),
        },
    )


def _plan_of(batch: ImportBatch) -> ReformPlan | None:
    """The plan an applied plan batch created (the importer's plan imported at that moment)."""
    if batch.kind != ImportKind.REFORM_PLAN or batch.status != ImportStatus.APPLIED:
        return None
    return (
        ReformPlan.objects.filter(
            created_by=batch.created_by, created_at__lte=batch.applied_at or batch.created_at
        )
        .order_by("-created_at", "-pk")
        .first()
    )


@login_required
@require_POST
def import_apply(request: HttpRequest, pk: int) -> HttpResponse:
    """Step 2: queue the previewed batch (or retry a failed job) for the background job that
    writes it, all rows or none; its page shows the progress, then the result."""
    _require_importer(request)
    batch = get_object_or_404(ImportBatch.objects.defer("preview"), pk=pk)
    try:
        request_apply(actor=request.user, batch=batch)
    except ValidationError as exc:
        messages.error(request, "；".join(exc.messages))
        return redirect("ledger:import_batch", pk=pk)
    # Where tasks run in-process the job has already ended.
    batch = ImportBatch.objects.defer("preview").get(pk=pk)
    if batch.status == ImportStatus.APPLIED:
        messages.success(request, f"已导入“{batch.filename}”，共{batch.rows}行。")
        plan = _plan_of(batch)
        if plan is not None:
            return redirect("ledger:plan_detail", pk=plan.pk)
    elif batch.status in RUNNING_STATES:
        messages.success(request, f"已开始导入“{batch.filename}”，本页显示进度，完成后显示结果。")
    elif batch.status == ImportStatus.APPLY_FAILED:
        messages.error(request, "导入失败，未写入任何数据，请查看下方原因后重新导入。")
    else:
        messages.error(request, "重新校验未通过，未写入任何数据，请查看下方错误。")
    return redirect("ledger:import_batch", pk=pk)


@login_required
def import_sample(request: HttpRequest) -> FileResponse:
    """A reform implementation plan in the import format, to start from."""
    _require_importer(request)
    response = FileResponse(
        SAMPLE_PLAN.open("rb"),
        as_attachment=True,
        filename=SAMPLE_PLAN_NAME,
        content_type=XLSX_CONTENT_TYPE,
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response


# --- imported plans ---------------------------------------------------------------------------


@login_required
def plan_list(request: HttpRequest) -> HttpResponse:
    plans = (
        ReformPlan.objects.select_related("created_by")
        .annotate(
            n_items=Count("items", distinct=True), n_tasks=Count("items__tasks", distinct=True)
        )
        .order_by("-year", "-created_at", "-pk")
    )
    page = Paginator(plans, per_page=50).get_page(request.GET.get("page"))
    return render(
        request,
        "ledger/plans/plan_list.html",
        {"page": page, "query": "", "can_import": can_import(request.user)},
    )


@login_required
def plan_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One plan as issued: its reform items by area, each with its main tasks and units, in a
    fixed number of queries whatever its size."""
    plan = get_object_or_404(ReformPlan.objects.select_related("created_by"), pk=pk)
    tasks = PlanTask.objects.select_related("lead_unit").prefetch_related(
        "co_lead_units", "participating_units"
    )
    items = list(
        PlanItem.objects.filter(plan=plan)
        .order_by("number")
        .prefetch_related(Prefetch("tasks", queryset=tasks.order_by("number")))
    )
    areas: dict[str, list[PlanItem]] = {}
    for item in items:
        areas.setdefault(item.get_area_display(), []).append(item)
    return render(
        request,
        "ledger/plans/plan_detail.html",
        {
            "plan": plan,
            "areas": areas,
            "n_items": len(items),
            "n_tasks": sum(len(i.tasks.all()) for i in items),
        },
    )
