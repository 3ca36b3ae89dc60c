"""The documents of a call for proposals (申报批次, N3).

- `application_pdf`: one application printed as the notice's 附件2《生态环保领域改革试点申报表》,
  an A4 government form with the prefecture's and the lead department's opinions and seal
  boxes, rendered from templates/pdf/application_form.html by WeasyPrint with an embedded
  CJK font;
- `call_applications_xlsx`: a call's applications on one sheet for the office's meeting.

WeasyPrint fetches nothing but the product's own static files (`StaticOnlyFetcher`): no
network, no other file on the server, whatever text a user typed into a pilot.
"""

from __future__ import annotations

import functools
import mimetypes
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

from django.conf import settings
from django.db.models import Prefetch, QuerySet
from django.template.loader import render_to_string
from django.utils import timezone

from accounts.constants import OrgKind
from accounts.models import Organisation
from core.dates import format_cn_date
from core.xlsx import DATE_FORMAT_CN, write_workbook
from pilots.constants import Decision, OverlapVerdict, Stage
from pilots.models import Milestone, Opinion, OverlapFlag, Pilot

# The product's own static files: the only place a PDF may load anything from.
STATIC_DIR = Path(settings.BASE_DIR) / "static"

# Steps that are not an opinion on the application's content.
_NOT_AN_OPINION = (Decision.SUBMIT, Decision.WITHDRAW)


# --- PDF ----------------------------------------------------------------------------------


class FetchRefused(ValueError):
    """The PDF asked for something other than one of the product's static files."""


def resolve_static_url(url: str, root: Path = STATIC_DIR) -> Path:
    """The file a file:// `url` names, if it lies inside `root`; FetchRefused otherwise:
    other schemes (http, https, ftp, data …), other hosts, paths outside the folder (also
    through `..` or a symbolic link), folders and missing files."""
    parts = urlsplit(url)
    if parts.scheme.lower() != "file" or parts.netloc not in ("", "localhost"):
        raise FetchRefused(f"PDF 只能引用系统自带的静态文件，已拒绝：{url[:200]}")
    path = Path(url2pathname(unquote(parts.path))).resolve()
    if not path.is_relative_to(Path(root).resolve()) or not path.is_file():
        raise FetchRefused(f"PDF 只能引用系统自带的静态文件，已拒绝：{url[:200]}")
    return path


@functools.cache
def _fetcher_class():
    # WeasyPrint (and Pango with it) is imported on first use: about a second that no page
    # but a PDF needs. WeasyPrint 68+ expects a URLFetcher subclass.
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class StaticOnlyFetcher(URLFetcher):
        """Serves files under the static folder and refuses everything else."""

        def __init__(self, root: Path):
            super().__init__(fail_on_errors=False)
            self.root = Path(root).resolve()

        def fetch(self, url: str, headers=None):
            path = resolve_static_url(url, self.root)
            content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            if content_type.startswith("text/"):
                content_type += "; charset=utf-8"
            return URLFetcherResponse(
                path.as_uri(), path.read_bytes(), {"Content-Type": content_type}
            )

    return StaticOnlyFetcher


def static_only_fetcher(root: Path | None = None):
    """WeasyPrint's url_fetcher for documents: only the product's own static files."""
    return _fetcher_class()(root or STATIC_DIR)


def render_pdf(template: str, context: dict) -> bytes:
    """Render a templates/pdf/ template to PDF bytes. Relative URLs in it (the stylesheet
    css/pdf.css) resolve inside the static folder; nothing else can be fetched."""
    from weasyprint import HTML

    html = render_to_string(template, context)
    document = HTML(
        string=html,
        base_url=STATIC_DIR.resolve().as_uri() + "/",
        url_fetcher=static_only_fetcher(),
    )
    return document.write_pdf()


def paragraphs(text: str) -> list[str]:
    """A typed text as the paragraphs a printed form shows: one per line, blank lines and
    typed indentation (spaces, full-width spaces) dropped, since the form indents itself."""
    indent = " \t\u3000"
    return [line.strip(indent) for line in text.splitlines() if line.strip(indent)]


def term_text(pilot: Pilot) -> str:
    """试点期限 as the form prints it: 2026年6月1日至2029年5月31日（约3年）."""
    years = pilot.term_years
    if years is None:
        return ""  # a draft application not yet dated
    years_text = f"{years:.0f}" if float(years).is_integer() else f"{years}"
    span = f"{format_cn_date(pilot.start_date)}至{format_cn_date(pilot.end_date)}"
    return f"{span}（约{years_text}年）"


@dataclass
class OpinionBox:
    """One signed opinion cell of the form: the latest opinion of a stage, or an empty box
    to be filled in by hand and sealed."""

    label: str
    organisation: str = ""
    decision: str = ""
    text: list[str] = field(default_factory=list)
    date: str = ""


def latest_opinion(opinions: list[Opinion], stage: str) -> Opinion | None:
    """A stage's opinion on the application as it now stands: the latest one given since
    the last submission (an opinion on an earlier, returned version no longer applies).
    `opinions` are in time order."""
    submits = [i for i, o in enumerate(opinions) if o.decision == Decision.SUBMIT]
    current = opinions[submits[-1] + 1 :] if submits else opinions
    found = [o for o in current if o.stage == stage and o.decision not in _NOT_AN_OPINION]
    return found[-1] if found else None


def _opinion_box(label: str, opinions: list[Opinion], stage: str) -> OpinionBox:
    opinion = latest_opinion(opinions, stage)
    if opinion is None:
        return OpinionBox(label=label)
    return OpinionBox(
        label=label,
        organisation=opinion.organisation.name,
        decision=opinion.get_decision_display(),
        text=paragraphs(opinion.text),
        date=format_cn_date(timezone.localdate(opinion.created_at)),
    )


def application_context(pilot: Pilot) -> dict:
    """What the application form shows, in a handful of queries."""
    opinions = list(
        Opinion.objects.filter(pilot=pilot)
        .select_related("organisation")
        .order_by("created_at", "pk")
    )
    submitted = [o for o in opinions if o.decision == Decision.SUBMIT]
    return {
        "pilot": pilot,
        "applicant": pilot.applicant,
        "lead_department": pilot.lead_department,
        "regions": list(pilot.regions.order_by("kind", "sort_order", "code")),
        "term": term_text(pilot),
        "texts": {
            name: paragraphs(getattr(pilot, name))
            for name in ("goal", "scope", "measures", "expected_outcomes", "work_foundation")
        },
        "milestones": list(pilot.milestones.filter(is_removed=False).order_by("due_date", "pk")),
        "filled_on": (
            format_cn_date(timezone.localdate(submitted[-1].created_at)) if submitted else ""
        ),
        "opinion_boxes": [
            _opinion_box("设区市\n推荐意见", opinions, Stage.PREFECTURE),
            _opinion_box("省级牵头联系\n部门意见", opinions, Stage.DEPARTMENT),
        ],
    }


def application_pdf(pilot: Pilot) -> bytes:
    """The filled 《生态环保领域改革试点申报表》 of one application, as PDF bytes.

    The caller has checked that the user may see the pilot (accounts.access)."""
    return render_pdf("pdf/application_form.html", application_context(pilot))


# --- Spreadsheet ----------------------------------------------------------------------------

CALL_SHEET_COLUMNS: list[tuple[str, int]] = [
    ("编号", 14),
    ("试点名称", 30),
    ("改革领域", 20),
    ("试点类型", 10),
    ("申报单位", 24),
    ("所属设区市", 18),
    ("试点地区", 20),
    ("实施主体", 22),
    ("建议牵头部门", 20),
    ("试点目标", 40),
    ("试点范围", 30),
    ("开始日期", 15),
    ("结束日期", 15),
    ("责任主体", 22),
    ("推进措施", 50),
    ("预期成果", 40),
    ("时间节点", 40),
    ("工作基础", 40),
    ("联系人", 10),
    ("联系电话", 15),
    ("状态", 13),
    ("设区市意见", 36),
    ("牵头部门意见", 36),
    ("重复交叉提示", 20),
    ("推荐时间", 17),
]

# How many pilots are loaded (with their related rows) at a time.
BATCH_SIZE = 500


def _export_queryset() -> QuerySet[Pilot]:
    return Pilot.objects.select_related(
        "applicant", "applicant__parent", "lead_department", "endorsing_prefecture"
    ).prefetch_related(
        # A region is shown as the place its bureau stands for (杭州市西湖区), never as the
        # bureau: the applicant has its own column.
        Prefetch("regions", queryset=Organisation.objects.select_related("parent")),
        Prefetch(
            "milestones",
            queryset=Milestone.objects.filter(is_removed=False).order_by("due_date", "pk"),
            to_attr="live_milestones",
        ),
        Prefetch(
            "opinions",
            queryset=Opinion.objects.select_related("organisation").order_by("created_at", "pk"),
            to_attr="opinion_list",
        ),
        Prefetch(
            "overlap_flags",
            queryset=OverlapFlag.objects.only("pk", "pilot_id", "score", "verdict"),
            to_attr="flag_list",
        ),
    )


def _in_batches(pilots: Iterable[Pilot]) -> Iterator[Pilot]:
    """The pilots in the caller's order (a queryset without an explicit order: by code),
    loaded BATCH_SIZE at a time with what a row shows: 1 query for the ids, then 5 per
    batch. Only the ids come from `pilots`, so its restriction to the user is kept."""
    if isinstance(pilots, QuerySet):
        if not pilots.query.order_by and not pilots.query.is_sliced:
            pilots = pilots.order_by("code")
        ids = list(pilots.values_list("pk", flat=True))
    else:
        ids = [p.pk for p in pilots]
    for start in range(0, len(ids), BATCH_SIZE):
        chunk = ids[start : start + BATCH_SIZE]
        by_pk = {p.pk: p for p in _export_queryset().filter(pk__in=chunk).order_by()}
        for pk in chunk:
            if pk in by_pk:
                yield by_pk[pk]


def _prefecture_name(pilot: Pilot) -> str:
    if pilot.endorsing_prefecture_id:
        return pilot.endorsing_prefecture.name
    applicant = pilot.applicant
    if applicant.kind == OrgKind.PREFECTURE:
        return applicant.name
    if applicant.kind == OrgKind.COUNTY and applicant.parent_id:
        return applicant.parent.name
    return ""


def _opinion_text(pilot: Pilot, stage: str) -> str:
    o = latest_opinion(pilot.opinion_list, stage)
    if o is None:
        return ""
    when = format_cn_date(timezone.localdate(o.created_at))
    body = f"：{o.text}" if o.text else ""
    return f"{o.get_decision_display()}{body}（{o.organisation.name}，{when}）"


def _overlap_text(pilot: Pilot) -> str:
    """R1.3: how many existing pilots it may duplicate, the highest similarity, and how many
    the screener has not judged yet."""
    flags = pilot.flag_list
    if not flags:
        return ""
    text = f"{len(flags)}项，最高相似度{max(f.score for f in flags):.2f}"
    pending = sum(f.verdict == OverlapVerdict.PENDING for f in flags)
    return f"{text}（{pending}项待判定）" if pending else text


def call_application_row(pilot: Pilot) -> list:
    return [
        pilot.code,
        pilot.name,
        pilot.get_field_display(),
        pilot.get_kind_display(),
        pilot.applicant.name,
        _prefecture_name(pilot),
        "、".join(r.place_name for r in pilot.regions.all()),
        pilot.implementing_body,
        pilot.lead_department.name,
        pilot.goal,
        pilot.scope,
        pilot.start_date,
        pilot.end_date,
        pilot.responsible_body,
        pilot.measures,
        pilot.expected_outcomes,
        "；".join(f"{format_cn_date(m.due_date)} {m.title}" for m in pilot.live_milestones),
        pilot.work_foundation,
        pilot.contact_person,
        pilot.contact_phone,
        pilot.get_status_display(),
        _opinion_text(pilot, Stage.PREFECTURE),
        _opinion_text(pilot, Stage.DEPARTMENT),
        _overlap_text(pilot),
        pilot.endorsed_at,
    ]


def call_applications_xlsx(call, pilots: Iterable[Pilot]) -> bytes:
    """A call's applications as one sheet, one row per application, every field under its
    Chinese heading. `pilots` is already restricted to what the user may see (a queryset,
    ideally); related rows are loaded here in batches, so the number of queries does not
    grow with the number of applications."""
    headers = [name for name, _ in CALL_SHEET_COLUMNS]
    widths = [width for _, width in CALL_SHEET_COLUMNS]
    rows = (call_application_row(p) for p in _in_batches(pilots))
    return write_workbook(call.title, headers, rows, widths, date_format=DATE_FORMAT_CN)
