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
    AUDITOR = "auditor", "安全审计员"
    ADMIN = "admin", "系统管理员"


class AuditAction(models.TextChoices):
    LOGIN = "login", "登录"
    LOGIN_FAILED = "login_failed", "登录失败"
    LOCKED_OUT = "locked_out", "登录锁定"
    LOGOUT = "logout", "退出"
    CHANGE = "change", "数据变更"
    PERMISSION = "permission", "权限变更"
    UPLOAD = "upload", "上传文件"
    DOWNLOAD = "download", "下载文件"
    EXPORT = "export", "导出"
    TOKEN = "token", "访问令牌"
    PASSWORD = "password", "密码"


# Roles only a system administrator (superuser) may grant or take away: they read the audit
# log or administer the system.
PRIVILEGED_ROLES: frozenset[str] = frozenset({Role.ADMIN, Role.AUDITOR})

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

# Session keys of the session clock (accounts.middleware): when the user signed in and when
# the last request came, both in seconds since the epoch.
SESSION_SIGNED_IN = "_signed_in"
SESSION_LAST_SEEN = "_last_seen"
