"""Synthetic but plausible pilots for benchmarks (manage.py generate_pilots --count N [--seed S]).

Pilots from calls belong to one of two synthetic calls (N3): applications to an open one,
approved pilots to a closed one; the calls' quota is raised to what the generated
endorsements use, so that the data stays consistent with the quota rule. The calls are opened
by the office's account (or a superuser); without one, call pilots get no call.

Pilots are built in memory and written in batches with `bulk_create_with_history`, so every
pilot and milestone has its creation record; regions and participating units are written as
bulk through rows, together with the history snapshot of those relations. Codes continue each
year's CodeSequence, which is moved past the block taken, so later `next_code` calls never
collide. Every pilot satisfies R1.1/R1.2 (field validation and `rules.validate_term`).
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from dataclasses import dataclass

from django.apps import apps
from django.conf import settings
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from accounts.constants import OrgKind, Role
from accounts.models import Organisation, User
from accounts.orgdata import ensure_organisations
from core.history import save_with_history
from pilots.codes import reserve_codes
from pilots.constants import APPLICATION_STATES, APPROVED_OR_LATER, Origin, PilotKind, Status
from pilots.models import Call, Milestone, Pilot

CHANGE_REASON = "批量生成测试数据"
OPEN_CALL_TITLE = "批量生成测试批次（开放中）"
CLOSED_CALL_TITLE = "批量生成测试批次（已截止）"
BATCH_SIZE = 500


@dataclass(frozen=True)
class Topic:
    field: str
    subject: str  # 排污许可
    mechanism: str  # 以排污许可为核心的固定污染源监管制度
    leads: tuple[str, ...]  # organisation codes of likely lead units


# Reform topics by field: (subject, mechanism, likely lead units separated by spaces).
_TOPICS_BY_FIELD: dict[str, tuple[tuple[str, str, str], ...]] = {
    "property_rights": (
        ("自然生态空间统一确权登记", "自然资源统一确权登记制度", "dept-nr"),
        ("水流产权确权", "水域空间和水资源使用权确权制度", "dept-water"),
        ("集体林权制度", "集体林地“三权分置”和林权流转制度", "dept-forest"),
        ("海域使用权立体分层设权", "海域分层确权和登记制度", "dept-nr"),
    ),
    "spatial_protection": (
        ("生态保护红线监管", "生态保护红线勘界定标和监管制度", "dept-nr div-nature"),
        ("生态环境分区管控", "分区管控成果落地应用机制", "div-eia"),
        ("自然保护地整合优化", "自然保护地统一管理体制", "dept-forest div-nature"),
        ("生物多样性保护", "生物多样性调查监测和惠益分享机制", "div-nature"),
    ),
    "spatial_planning": (
        ("“多规合一”", "统一的县域空间规划编制和实施机制", "dept-nr dept-drc"),
        ("国土空间规划实施监督", "规划“一张图”实施监督机制", "dept-nr"),
    ),
    "resource_quota": (
        ("用水总量和强度双控", "用水定额管理和节水评价制度", "dept-water"),
        ("节约集约用地", "建设用地总量控制和低效用地再开发机制", "dept-nr"),
        ("固体废物资源化利用", "固体废物分类收集和资源化利用体系", "div-waste aff-solid-waste"),
        ("生活垃圾分类", "生活垃圾分类投放、收运和处理体系", "dept-housing"),
        ("资源要素差别化配置", "“亩均论英雄”资源要素配置机制", "dept-econ"),
    ),
    "compensation": (
        ("流域横向生态保护补偿", "上下游横向生态保护补偿机制", "dept-finance div-water"),
        ("生态产品价值实现", "生态产品价值核算和市场化实现机制", "dept-drc"),
        ("重点生态功能区财政补偿", "与生态质量挂钩的财政转移支付制度", "dept-finance"),
        ("矿山生态修复", "矿山生态修复基金和责任落实机制", "dept-nr"),
    ),
    "governance": (
        ("排污许可", "以排污许可为核心的固定污染源监管制度", "div-eia"),
        ("环评审批制度", "环评审批与事中事后监管相结合的管理机制", "div-eia"),
        ("生态环境损害赔偿", "生态环境损害赔偿磋商和修复制度", "div-law"),
        ("河（湖）长制", "河（湖）长履职和考核问责机制", "dept-water"),
        ("生态环境监测", "生态环境监测数据质量管理制度", "div-monitor aff-monitoring"),
        ("农业面源污染治理", "化肥农药实名制购买和定额制施用制度", "dept-agri"),
        ("入海排污口监管", "入海排污口排查溯源和分类整治机制", "div-marine"),
        ("环境信息依法披露", "企业环境信息依法披露制度", "div-law"),
        ("生态环境执法", "非现场监管和执法正面清单制度", "div-enforce"),
    ),
    "market": (
        ("排污权有偿使用和交易", "排污权初始分配、有偿使用和交易制度", "div-general"),
        ("环境污染第三方治理", "园区环境污染第三方治理机制", "dept-drc div-general"),
        ("用能权有偿使用和交易", "用能权确权、核查和交易制度", "dept-drc"),
        ("绿色金融", "绿色信贷和环境权益抵质押融资机制", "dept-pbc"),
        ("环境污染强制责任保险", "环境高风险企业强制责任保险制度", "div-law"),
        ("林业碳汇交易", "林业碳汇计量、收储和交易机制", "dept-forest div-climate"),
        ("生态环境导向的开发（EOD）", "生态治理与产业开发一体化实施模式", "div-sci-fin"),
    ),
    "accountability": (
        ("自然资源资产负债表编制", "自然资源资产负债表编制和应用制度", "dept-stats"),
        ("自然资源资产离任审计", "领导干部自然资源资产离任审计制度", "dept-audit"),
        ("生态环境损害责任追究", "领导干部生态环境损害责任追究制度", "dept-org div-inspect"),
        ("GEP核算与考核", "GEP核算结果进考核、进决策机制", "dept-stats dept-drc"),
    ),
}
TOPICS: tuple[Topic, ...] = tuple(
    Topic(field, subject, mechanism, tuple(leads.split()))
    for field, rows in _TOPICS_BY_FIELD.items()
    for subject, mechanism, leads in rows
)

GOALS = (
    "围绕{subject}，在{place}探索建立{mechanism}，破解{problem}的问题，形成可复制可推广的制度成果。",
    "以{subject}为突破口，建立健全{mechanism}，推动{place}{problem}问题得到系统解决。",
    "针对{place}{problem}的突出问题，开展{subject}改革探索，建立{mechanism}。",
)
PROBLEMS = (
    "责任主体不清、监管手段不足",
    "制度供给滞后、部门协同不够",
    "保护与发展矛盾突出",
    "市场化手段运用不充分",
    "考核约束不强、激励不足",
    "基础数据分散、底数不清",
)
MEASURES = (
    "开展{subject}现状调查评估，摸清底数、建立台账",
    "制定{subject}实施办法和配套技术规范",
    "建设数字化管理平台，实现数据共享和动态监管",
    "明确部门职责分工，建立联席会议和信息通报机制",
    "建立绩效评估制度，评估结果与考核、资金安排挂钩",
    "引入第三方机构开展技术服务和效果评估",
    "建立信用评价和守信激励、失信惩戒机制",
    "开展典型案例总结和经验交流推广",
)
OUTCOMES = (
    "形成{subject}实施办法和技术规范，为全省面上推广提供经验。",
    "建立{mechanism}，相关工作纳入地方规范性文件。",
    "形成一批{subject}典型案例，提炼可复制可推广的制度成果。",
)
MILESTONE_TITLES = (
    "完成现状调查和实施方案细化",
    "出台配套管理办法和技术规范",
    "建成数字化管理平台并开展中期评估",
    "完成试点总结和验收评估",
)
SURNAMES = "王李张刘陈杨黄赵吴周徐孙朱胡郭何高林郑沈叶金汪方俞楼章蒋潘邵应"
GIVEN = "建国 晓峰 丽华 志强 海燕 文杰 佳怡 振宇 静 立新 卫东 雪梅".split()
AREA_CODES = {
    "hangzhou": "0571", "ningbo": "0574", "wenzhou": "0577", "jiaxing": "0573",
    "huzhou": "0572", "shaoxing": "0575", "jinhua": "0579", "quzhou": "0570",
    "zhoushan": "0580", "taizhou": "0576", "lishui": "0578",
}  # fmt: skip

# How often each state occurs among generated pilots (a living registry is mostly ledger).
STATUS_WEIGHTS = {
    Status.DRAFT: 8, Status.SUBMITTED: 7, Status.RETURNED: 3, Status.ENDORSED: 4,
    Status.REJECTED: 4, Status.WITHDRAWN: 3, Status.APPROVED: 5, Status.FILING_SUBMITTED: 5,
    Status.ACTIVE: 34, Status.CLOSURE_REPORTED: 5, Status.EXTENSION_REQUESTED: 4,
    Status.CLOSED: 13, Status.PURGED: 5,
}  # fmt: skip
ORIGIN_WEIGHTS = {
    Origin.CENTRAL: 5, Origin.PROVINCIAL: 10, Origin.MINISTRY: 20, Origin.DEPARTMENT: 40,
    Origin.CALL: 25,
}  # fmt: skip
APPROVAL = {
    Origin.CENTRAL: (("国务院", "国函"), ("国务院办公厅", "国办函")),
    Origin.PROVINCIAL: (("浙江省人民政府", "浙政函"), ("浙江省人民政府办公厅", "浙政办函")),
    Origin.MINISTRY: (
        ("生态环境部办公厅", "环办综合函"),
        ("国家发展和改革委员会", "发改环资"),
        ("自然资源部办公厅", "自然资办函"),
        ("财政部", "财资环"),
    ),
    Origin.DEPARTMENT: (("浙江省生态环境厅", "浙环函"), ("浙江省生态环境厅", "浙环发")),
    Origin.CALL: (("浙江省生态环境厅", "浙环函"),),
}


def generate_pilots(*, count: int, seed: int | None = None, today: dt.date | None = None) -> int:
    """Create `count` synthetic pilots; returns how many were created."""
    rng = random.Random(seed)
    today = today or timezone.localdate()
    with transaction.atomic():
        orgs = ensure_organisations()
        actor = (
            User.objects.filter(role=Role.OFFICE, is_active=True).order_by("pk").first()
            or User.objects.filter(is_superuser=True, is_active=True).order_by("pk").first()
        )
        generator = _Generator(rng=rng, today=today, orgs=orgs)
        planned = [generator.plan() for _ in range(count)]
        _assign_codes(planned)
        _assign_calls(planned, opener=actor, today=today)
        for start in range(0, len(planned), BATCH_SIZE):
            _write_batch(planned[start : start + BATCH_SIZE], actor=actor)
    return count


@dataclass
class _Planned:
    pilot: Pilot
    year: int
    prefecture: Organisation | None  # the prefecture screening it, for pilots from a call
    regions: list[Organisation]
    participants: list[Organisation]
    milestones: list[tuple[dt.date, str, dt.date | None]]


class _Generator:
    def __init__(self, *, rng: random.Random, today: dt.date, orgs: dict[str, Organisation]):
        self.rng = rng
        self.today = today
        self.orgs = orgs
        by_kind: dict[str, list[Organisation]] = {}
        for org in orgs.values():
            by_kind.setdefault(org.kind, []).append(org)
        self.counties = by_kind.get(OrgKind.COUNTY, [])
        self.prefectures = by_kind.get(OrgKind.PREFECTURE, [])
        self.units = by_kind.get(OrgKind.DEPARTMENT, []) + by_kind.get(OrgKind.DIVISION, [])
        self.prefecture_by_id = {org.pk: org for org in self.prefectures}
        if not (self.counties and self.prefectures and self.units):
            raise CommandError("单位名录不完整：缺少县（市、区）、设区市或省直部门。")
        self.statuses = list(STATUS_WEIGHTS)
        self.status_weights = list(STATUS_WEIGHTS.values())
        self.origins = list(ORIGIN_WEIGHTS)
        self.origin_weights = list(ORIGIN_WEIGHTS.values())

    def _days(self, low: int, high: int) -> dt.timedelta:
        return dt.timedelta(days=self.rng.randint(low, high))

    def _term(self, kind: str) -> dt.timedelta:
        """A term inside R1.2's limits (2 years single, 5 years comprehensive), leap-safe."""
        if kind == PilotKind.COMPREHENSIVE:
            return self._days(3 * 365, 1800)
        return self._days(180, 700)

    def _dates(self, status: str, kind: str) -> tuple[dt.date, dt.date, dt.date | None]:
        """(start, end, approval date) consistent with the state on `today`."""
        today, term = self.today, self._term(kind)
        if status in APPLICATION_STATES or status == Status.WITHDRAWN:
            start = today + self._days(15, 150)
            return start, start + term, None
        if status in (Status.APPROVED, Status.FILING_SUBMITTED):
            approved = today - self._days(0, 30)
            start = approved + self._days(0, 30)
            return start, start + term, approved
        if status == Status.ACTIVE:
            # Mostly within the term; some past their end date, a few beyond the purge grace.
            start = today - self._days(20, term.days + 45)
            end = start + term
        elif status in (Status.CLOSURE_REPORTED, Status.EXTENSION_REQUESTED):
            end = today + self._days(-40, 25)
            start = end - term
        elif status == Status.CLOSED:
            end = today - self._days(30, 1200)
            start = end - term
        else:  # purged: past its end date by more than the grace period
            end = today - self._days(settings.PILOT_PURGE_GRACE_DAYS + 10, 900)
            start = end - term
        return start, end, start - self._days(5, 60)

    def _place(self) -> tuple[list[Organisation], str, str]:
        """Regions, the government implementing there, and the prefecture's area code."""
        if self.rng.random() < 0.8:
            county = self.rng.choice(self.counties)
            prefecture = self.prefecture_by_id[county.parent_id]
            government = f"{prefecture.short_name}市{county.short_name}人民政府"
            return [county], government, AREA_CODES.get(prefecture.code, "0571")
        prefecture = self.rng.choice(self.prefectures)
        regions = [prefecture]
        if self.rng.random() < 0.5:
            regions += self.rng.sample(
                [c for c in self.counties if c.parent_id == prefecture.pk], k=1
            )
        government = f"{prefecture.short_name}市人民政府"
        return regions, government, AREA_CODES.get(prefecture.code, "0571")

    def plan(self) -> _Planned:
        rng = self.rng
        status = rng.choices(self.statuses, self.status_weights)[0]
        kind = PilotKind.COMPREHENSIVE if rng.random() < 0.12 else PilotKind.SINGLE
        if status in APPLICATION_STATES or status == Status.WITHDRAWN:
            origin = Origin.CALL
        else:
            origin = rng.choices(self.origins, self.origin_weights)[0]
        topic = rng.choice(TOPICS)
        regions, government, area_code = self._place()
        place = regions[-1].short_name
        lead = self.orgs.get(rng.choice(topic.leads)) or rng.choice(self.units)
        applicant = regions[-1] if origin == Origin.CALL else lead
        participants = rng.sample(self.units, k=rng.randint(0, 3))
        participants = [org for org in participants if org != lead]
        start, end, approved = self._dates(status, kind)
        words = {
            "subject": topic.subject,
            "mechanism": topic.mechanism,
            "place": place,
            "problem": rng.choice(PROBLEMS),
        }
        measures = [
            MEASURES[i] for i in sorted(rng.sample(range(len(MEASURES)), k=rng.randint(3, 5)))
        ]
        pilot = Pilot(
            name=f"{place}{topic.subject}改革试点",
            field=topic.field,
            kind=kind,
            origin=origin,
            status=status,
            implementing_body=government,
            lead_department=lead,
            applicant=applicant,
            goal=rng.choice(GOALS).format(**words),
            scope=f"{place}行政区域内与{topic.subject}相关的单位和区域。",
            start_date=start,
            end_date=end,
            responsible_body=regions[-1].name,
            measures="\n".join(
                f"{i}. {text.format(**words)}；" for i, text in enumerate(measures, 1)
            ),
            expected_outcomes=rng.choice(OUTCOMES).format(**words),
            work_foundation=f"{place}已开展{topic.subject}相关基础工作，具备先行先试条件。",
            contact_person=rng.choice(SURNAMES) + rng.choice(GIVEN),
            contact_phone=f"{area_code}-{rng.randint(2000000, 89999999)}",
        )
        if approved is not None:
            authority, prefix = rng.choice(APPROVAL[origin])
            pilot.approval_authority = authority
            pilot.approval_doc_number = f"{prefix}〔{approved.year}〕{rng.randint(1, 999)}号"
            pilot.approval_date = approved
        milestones = []
        if kind == PilotKind.COMPREHENSIVE:
            span = (end - start).days
            for i, title in enumerate(MILESTONE_TITLES, 1):
                due = start + dt.timedelta(days=span * i // len(MILESTONE_TITLES))
                reached = due if due < self.today and status != Status.PURGED else None
                milestones.append((due, title, reached))
        year = (approved or self.today).year
        prefecture = None
        if origin == Origin.CALL:
            prefecture = applicant if applicant.kind == OrgKind.PREFECTURE else applicant.parent
        return _Planned(pilot, year, prefecture, regions, participants, milestones)


def _assign_codes(planned: list[_Planned]) -> None:
    """Reserve one block of serials per year (the counter row locked) and hand it out."""
    for year, needed in sorted(Counter(item.year for item in planned).items()):
        codes = iter(reserve_codes(year, needed))
        for item in planned:
            if item.year == year:
                item.pilot.code = next(codes)


def _assign_calls(planned: list[_Planned], *, opener: User | None, today: dt.date) -> None:
    """Put every pilot from a call into the open or the closed synthetic call; endorsed and
    approved ones carry their prefecture's endorsement."""
    from_calls = [item for item in planned if item.prefecture is not None]
    if opener is None or not from_calls:
        return
    now = timezone.now()
    approved = [item for item in from_calls if item.pilot.status in APPROVED_OR_LATER]
    first_approval = min((item.pilot.approval_date for item in approved), default=today)
    deadlines = {
        OPEN_CALL_TITLE: now + dt.timedelta(days=30),
        CLOSED_CALL_TITLE: timezone.make_aware(
            dt.datetime.combine(first_approval - dt.timedelta(days=30), dt.time(17, 0))
        ),
    }
    calls: dict[str, Call] = {}
    for title, deadline in deadlines.items():
        call = Call.objects.filter(title=title).first()
        if call is None:
            call = Call(
                title=title,
                description="性能测试用合成数据。",
                deadline=deadline,
                prefecture_quota=settings.CALL_DEFAULT_PREFECTURE_QUOTA,
                opened_by=opener,
            )
        elif title == CLOSED_CALL_TITLE:
            call.deadline = min(call.deadline, deadline)
        calls[title] = call
    for item in from_calls:
        closed = item.pilot.status in APPROVED_OR_LATER
        call = calls[CLOSED_CALL_TITLE if closed else OPEN_CALL_TITLE]
        item.pilot.call = call
        if closed or item.pilot.status == Status.ENDORSED:
            item.pilot.endorsing_prefecture = item.prefecture
            item.pilot.endorsed_at = min(now, call.deadline) - dt.timedelta(days=1)
    for call in calls.values():
        used = Counter(
            item.prefecture.pk
            for item in from_calls
            if item.pilot.call is call and item.pilot.endorsing_prefecture is not None
        )
        if call.pk is not None:
            used.update(
                Pilot.objects.filter(call=call, endorsing_prefecture__isnull=False).values_list(
                    "endorsing_prefecture", flat=True
                )
            )
        call.prefecture_quota = max([call.prefecture_quota, *used.values()])
        # The pilots' call_id is taken from it when they are inserted.
        save_with_history(call, actor=opener, reason=CHANGE_REASON)


def _write_batch(batch: list[_Planned], *, actor: User | None) -> None:
    pilots = bulk_create_with_history(
        [item.pilot for item in batch],
        Pilot,
        batch_size=BATCH_SIZE,
        default_user=actor,
        default_change_reason=CHANGE_REASON,
    )
    for item, pilot in zip(batch, pilots, strict=True):
        item.pilot = pilot
    for relation, attr in (("regions", "regions"), ("participating_units", "participants")):
        through = getattr(Pilot, relation).through
        rows = through.objects.bulk_create(
            [
                through(pilot_id=item.pilot.pk, organisation_id=org.pk)
                for item in batch
                for org in getattr(item, attr)
            ],
            batch_size=BATCH_SIZE * 2,
        )
        _write_m2m_history(relation, rows, [item.pilot.pk for item in batch])
    milestones = [
        Milestone(pilot=item.pilot, due_date=due, title=title, reached_on=reached)
        for item in batch
        for due, title, reached in item.milestones
    ]
    if milestones:
        bulk_create_with_history(
            milestones,
            Milestone,
            batch_size=BATCH_SIZE * 2,
            default_user=actor,
            default_change_reason=CHANGE_REASON,
        )


def _write_m2m_history(relation: str, rows: list, pilot_ids: list[int]) -> None:
    """Snapshot the relation on each pilot's creation record, as simple-history does when an
    m2m field changes through the ORM (bulk through rows send no signals)."""
    if not rows or not connection.features.can_return_rows_from_bulk_insert:
        return
    historical = Pilot.history.model
    m2m_history = apps.get_model("pilots", f"{historical.__name__}_{relation}")
    history_ids = dict(
        historical.objects.filter(id__in=pilot_ids, history_type="+").values_list(
            "id", "history_id"
        )
    )
    m2m_history.objects.bulk_create(
        [
            m2m_history(
                history_id=history_ids[row.pilot_id],
                id=row.pk,
                pilot_id=row.pilot_id,
                organisation_id=row.organisation_id,
            )
            for row in rows
        ],
        batch_size=BATCH_SIZE * 2,
    )
