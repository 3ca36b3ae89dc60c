"""factory_boy factories for domain objects."""

from __future__ import annotations

import datetime as dt

import factory

from accounts.constants import DEFAULT_ROLE_FOR_KIND, OrgKind
from accounts.models import Organisation, User
from pilots.constants import Origin, PilotKind, ReformField, Status
from pilots.models import Pilot

PASSWORD = "Pilot-Demo-2026"


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"org-{n}")
    name = factory.Sequence(lambda n: f"测试单位{n}")
    short_name = factory.LazyAttribute(lambda o: o.name[:10])
    kind = OrgKind.DEPARTMENT


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    organisation = factory.SubFactory(OrganisationFactory)
    role = factory.LazyAttribute(lambda u: DEFAULT_ROLE_FOR_KIND[u.organisation.kind])
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):  # noqa: N805 - factory_boy hook
        if create:
            obj.save()


class PilotFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Pilot
        skip_postgeneration_save = True

    code = factory.Sequence(lambda n: f"ST-2026-{n + 1:04d}")
    name = factory.Sequence(lambda n: f"排污许可制度改革试点{n}")
    field = ReformField.GOVERNANCE
    kind = PilotKind.SINGLE
    origin = Origin.DEPARTMENT
    status = Status.ACTIVE
    implementing_body = "杭州市生态环境局"
    lead_department = factory.SubFactory(OrganisationFactory)
    applicant = factory.LazyAttribute(lambda p: p.lead_department)
    goal = "建立以排污许可为核心的固定污染源监管制度。"
    scope = "全市重点排污单位。"
    start_date = dt.date(2026, 1, 1)
    end_date = dt.date(2026, 12, 31)
    responsible_body = "杭州市生态环境局"
    measures = "一证式管理，按证监管。"
    expected_outcomes = "形成可复制可推广的排污许可管理经验。"
    approval_authority = "浙江省生态环境厅"
    approval_doc_number = factory.Sequence(lambda n: f"浙环函〔2026〕{n + 1}号")
    approval_date = dt.date(2025, 12, 20)

    @factory.post_generation
    def regions(obj, create, extracted, **kwargs):  # noqa: N805 - factory_boy hook
        if create and extracted:
            obj.regions.set(extracted)


def ledger_sheet_row(**cells) -> list:
    """One row of the ledger workbook (the export's and the import's format) as a user would
    type it: valid unless told otherwise."""
    from ledger.selectors import LEDGER_HEADERS

    values = {
        "试点编号": "",
        "试点名称": "湖州市生态环境损害赔偿磋商制度改革试点",
        "改革领域": "环境治理体系",
        "试点类型": "单项试点",
        "试点来源": "省直有关部门开展",
        "管理层级": "省生态文明体制改革专项小组统筹",
        "试点地区": "西湖区",
        "实施主体": "杭州市生态环境局西湖分局",
        "牵头部门": "浙江省生态环境厅",
        "开始日期": dt.date(2026, 1, 1),
        "结束日期": dt.date(2026, 12, 31),
        "状态": "在册实施",
        "批复文号": "浙环函〔2025〕101号",
        "批复日期": dt.date(2025, 12, 1),
        "列入台账日期": dt.date(2025, 12, 8),
        "最新进展季度": "",
        "最新进展": "",
    }
    values.update(cells)
    return [values[h] for h in LEDGER_HEADERS]
