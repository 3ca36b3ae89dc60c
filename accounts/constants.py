"""Kinds of organisation and the roles users hold in them."""

from django.db import models


class OrgKind(models.TextChoices):
    OFFICE = "office", "省专项小组办公室"
    DEPARTMENT = "department", "省直部门"
    DIVISION = "division", "厅机关处室/直属单位"
    PREFECTURE = "prefecture", "设区市局"
    COUNTY = "county", "县（市、区）局"
    THIRD_PARTY = "third_party", "第三方机构"
    LOCAL = "local", "地方职能部门"


class Role(models.TextChoices):
    OFFICE = "office", "省办工作人员"
    LEAD_DEPARTMENT = "lead_department", "牵头联系部门"
    PREFECTURE = "prefecture", "设区市局"
    COUNTY = "county", "县（市、区）局"
    EXPERT = "expert", "评审专家"
    ADMIN = "admin", "系统管理员"


# The role a user normally holds in an organisation of each kind.
DEFAULT_ROLE_FOR_KIND: dict[str, str] = {
    OrgKind.OFFICE: Role.OFFICE,
    OrgKind.DEPARTMENT: Role.LEAD_DEPARTMENT,
    OrgKind.DIVISION: Role.LEAD_DEPARTMENT,
    OrgKind.PREFECTURE: Role.PREFECTURE,
    OrgKind.COUNTY: Role.COUNTY,
    OrgKind.THIRD_PARTY: Role.EXPERT,
    OrgKind.LOCAL: Role.COUNTY,
}
