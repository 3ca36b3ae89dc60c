"""The demo's people: one account per role, all with the same password, and which account
acts for an organisation when the demo records something on its behalf."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import Group, Permission

from accounts.constants import Role
from accounts.models import Organisation, User
from pilots.models import Pilot

DEMO_PASSWORD = "Pilot-Demo-2026"
# The Django admin checks model permissions: the office's demo account gets them through this
# group (everything in the registry's apps except deleting — records are never deleted).
OFFICE_GROUP = "省办工作人员"
OFFICE_GROUP_APPS = ("accounts", "pilots")


@dataclass(frozen=True)
class DemoAccount:
    username: str
    org_code: str
    role: str
    display_name: str
    is_staff: bool = False
    is_superuser: bool = False


DEMO_ACCOUNTS: tuple[DemoAccount, ...] = (
    DemoAccount("office", "office", Role.OFFICE, "陈晓岚", is_staff=True),
    DemoAccount("admin", "office", Role.ADMIN, "系统管理员", is_staff=True, is_superuser=True),
    DemoAccount("dept", "dept-env", Role.LEAD_DEPARTMENT, "周立群"),
    DemoAccount("water", "dept-water", Role.LEAD_DEPARTMENT, "吴海涛"),
    DemoAccount("hangzhou", "hangzhou", Role.PREFECTURE, "沈佳怡"),
    DemoAccount("ningbo", "ningbo", Role.PREFECTURE, "林振宇"),
    DemoAccount("wenzhou", "wenzhou", Role.PREFECTURE, "叶成林"),
    DemoAccount("jiaxing", "jiaxing", Role.PREFECTURE, "顾晓明"),
    DemoAccount("huzhou", "huzhou", Role.PREFECTURE, "姚丽君"),
    DemoAccount("shaoxing", "shaoxing", Role.PREFECTURE, "宣建良"),
    DemoAccount("jinhua", "jinhua", Role.PREFECTURE, "楼亚飞"),
    DemoAccount("quzhou", "quzhou", Role.PREFECTURE, "毛建华"),
    DemoAccount("zhoushan", "zhoushan", Role.PREFECTURE, "乐海军"),
    DemoAccount("taizhou", "taizhou", Role.PREFECTURE, "林海燕"),
    DemoAccount("lishui", "lishui", Role.PREFECTURE, "蓝晓春"),
    DemoAccount("county", "hz-xihu", Role.COUNTY, "俞佳宁"),
    DemoAccount("expert", "tp-eesdi", Role.EXPERT, "蒋文博"),
    DemoAccount("expert2", "tp-zju-env", Role.EXPERT, "钱思远"),
    DemoAccount("auditor", "office", Role.AUDITOR, "审计员 方敏"),
)


def ensure_office_group() -> Group:
    """The office staff's admin permissions (view, add, change) on the registry's models."""
    group, _created = Group.objects.get_or_create(name=OFFICE_GROUP)
    wanted = Permission.objects.filter(content_type__app_label__in=OFFICE_GROUP_APPS).exclude(
        codename__startswith="delete_"
    )
    group.permissions.set(wanted)  # only the difference is written
    return group


def ensure_demo_users(orgs: dict[str, Organisation]) -> tuple[dict[str, User], int, int]:
    """One account per demo role; returns (username → user, created, updated). An existing
    account is only saved when it differs from the demo (including its password)."""
    users: dict[str, User] = {}
    created = updated = 0
    office_group = ensure_office_group()
    for account in DEMO_ACCOUNTS:
        wanted = {
            "organisation": orgs[account.org_code],
            "role": account.role,
            "display_name": account.display_name,
            "is_staff": account.is_staff,
            "is_superuser": account.is_superuser,
            # So that the password reset works in the demo (mail lands in var/mail/).
            "email": f"{account.username}@example.gov.cn",
            "is_active": True,
        }
        user = User.objects.filter(username=account.username).first()
        if user is None:
            user = User(username=account.username, **wanted)
            user.set_password(DEMO_PASSWORD)
            user.save()
            created += 1
        else:
            changed = [name for name, value in wanted.items() if getattr(user, name) != value]
            for name in changed:
                setattr(user, name, wanted[name])
            if not user.check_password(DEMO_PASSWORD):
                user.set_password(DEMO_PASSWORD)
                changed.append("password")
            if changed:
                user.save()
                updated += 1
        if account.role == Role.OFFICE:
            user.groups.add(office_group)  # a no-op when already a member
        users[account.username] = user
    return users, created, updated


def applicant_account(org: Organisation, users: dict[str, User]) -> User:
    """The demo account that acts for the pilot's applicant, else the office."""
    for user in users.values():
        if user.organisation_id == org.pk and not user.is_superuser:
            return user
    return users["office"]


def lead_account(pilot: Pilot, users: dict[str, User]) -> User | None:
    """The demo account of the pilot's lead department (or of its parent department)."""
    orgs = {pilot.lead_department_id, pilot.lead_department.parent_id} - {None}
    for user in users.values():
        if user.role == "lead_department" and user.organisation_id in orgs:
            return user
    return None
