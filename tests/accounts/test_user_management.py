"""The office manages the province's accounts on its own pages: list, create, edit,
deactivate and reactivate, force a password reset; never a superuser or a privileged role
unless the office is a superuser; never its own deactivation; everything audited."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts.constants import AuditAction, Role
from accounts.models import AuditEvent, User
from accounts.tokens import issue_token
from accounts.users import update_user
from tests.factories import PASSWORD, UserFactory

LOGIN = "/accounts/login/"


@pytest.fixture
def superuser(orgs):
    return UserFactory(
        username="admin", organisation=orgs["office"], role=Role.ADMIN, is_superuser=True
    )


@pytest.fixture
def auditor(orgs):
    return UserFactory(username="auditor", organisation=orgs["office"], role=Role.AUDITOR)


def new_user_form(orgs, **overrides) -> dict:
    data = {
        "username": "xihu2",
        "display_name": "王晓东",
        "organisation": str(orgs["county"].pk),
        "role": Role.COUNTY,
        "email": "xihu2@example.gov.cn",
        "phone": "0571-88000000",
        "password_mode": "set",
        "password": "Xihu-Start-2026",
    }
    data.update(overrides)
    return data


def edit_form(user: User, **overrides) -> dict:
    data = {
        "display_name": user.display_name or user.username,
        "organisation": str(user.organisation_id),
        "role": user.role,
        "email": user.email,
        "phone": user.phone,
        "reason": "",
    }
    data.update(overrides)
    return data


def test_office_lists_searches_filters_and_pages_the_provinces_users(
    client_for, personas, orgs, settings
):
    personas["ningbo"].display_name = "林振宇"
    personas["ningbo"].save()
    personas["county"].is_active = False
    personas["county"].save()
    client = client_for("office")
    page = client.get(reverse("user_list")).content.decode()
    for name in ("office", "dept", "hangzhou", "ningbo", "county", "expert"):
        assert f">{name}</a>" in page
    found = client.get(reverse("user_list"), {"q": "林振"}).content.decode()
    assert ">ningbo</a>" in found and ">hangzhou</a>" not in found
    by_unit = client.get(reverse("user_list"), {"unit": orgs["hangzhou"].pk}).content.decode()
    assert ">hangzhou</a>" in by_unit and ">dept</a>" not in by_unit
    by_role = client.get(reverse("user_list"), {"role": Role.EXPERT}).content.decode()
    assert ">expert</a>" in by_role and ">office</a>" not in by_role
    inactive = client.get(reverse("user_list"), {"active": "0"}).content.decode()
    assert ">county</a>" in inactive and ">dept</a>" not in inactive and "已停用" in inactive
    settings.PAGINATE_BY = 5
    first = client.get(reverse("user_list")).content.decode()
    assert "第 1 / 2 页" in first
    assert "用户管理" in first  # the navigation entry


def test_only_the_office_and_administrators_reach_user_management(client_for, personas):
    for name in ("dept", "hangzhou", "county", "expert"):
        client = client_for(name)
        assert client.get(reverse("user_list")).status_code == 403
        assert client.get(reverse("user_create")).status_code == 403
        assert ">用户管理<" not in client.get(reverse("home")).content.decode()
    assert client_for("office").get(reverse("user_edit", args=["county"])).status_code == 200


def test_office_creates_a_user_with_an_initial_password_who_can_sign_in(
    client_for, personas, orgs, client
):
    response = client_for("office").post(reverse("user_create"), new_user_form(orgs))
    assert response.status_code == 302
    user = User.objects.get(username="xihu2")
    assert (user.display_name, user.organisation, user.role, user.email) == (
        "王晓东",
        orgs["county"],
        Role.COUNTY,
        "xihu2@example.gov.cn",
    )
    assert user.is_superuser is False and user.is_staff is False
    created = AuditEvent.objects.get(
        action=AuditAction.PERMISSION, object_type="accounts.user", object_id=str(user.pk)
    )
    assert created.username == "office"
    assert "新建用户" in created.summary and "角色=县（市、区）局" in created.summary
    client.logout()
    signed_in = client.post(LOGIN, {"username": "xihu2", "password": "Xihu-Start-2026"})
    assert signed_in.status_code == 302


def test_office_creates_a_user_who_sets_the_password_from_an_email(
    client_for, personas, orgs, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for("office").post(
            reverse("user_create"), new_user_form(orgs, password_mode="email", password="")
        )
    assert response.status_code == 302
    user = User.objects.get(username="xihu2")
    assert not user.has_usable_password()
    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["xihu2@example.gov.cn"]
    assert "设置" in mailoutbox[0].subject
    assert re.search(r"/accounts/password/reset/[\w-]+/[\w-]+/", mailoutbox[0].body)


def test_bad_input_on_creation_gets_chinese_messages_and_a_400(client_for, personas, orgs):
    client = client_for("office")
    taken = client.post(reverse("user_create"), new_user_form(orgs, username="Dept"))
    assert taken.status_code == 400 and "已存在" in taken.content.decode()
    weak = client.post(reverse("user_create"), new_user_form(orgs, password="12345678"))
    assert weak.status_code == 400 and "密码" in weak.content.decode()
    no_mail = client.post(
        reverse("user_create"),
        new_user_form(orgs, password_mode="email", password="", email=""),
    )
    assert no_mail.status_code == 400 and "需要填写电子邮箱" in no_mail.content.decode()
    assert not User.objects.filter(username__in=["xihu2", "Dept"]).exists()


def test_office_cannot_create_an_auditor_or_administrator_but_a_superuser_can(
    client, personas, orgs, superuser
):
    client.force_login(personas["office"])
    for role in (Role.AUDITOR, Role.ADMIN):
        response = client.post(reverse("user_create"), new_user_form(orgs, role=role))
        assert response.status_code == 400
        assert "只有系统管理员可以授予" in response.content.decode()
    assert not User.objects.filter(username="xihu2").exists()
    client.force_login(superuser)
    response = client.post(
        reverse("user_create"),
        new_user_form(orgs, role=Role.AUDITOR, organisation=str(orgs["office"].pk)),
    )
    assert response.status_code == 302
    assert User.objects.get(username="xihu2").role == Role.AUDITOR


def test_office_edits_unit_role_name_email_and_phone_and_the_change_is_audited(
    client_for, personas, orgs
):
    county = personas["county"]
    response = client_for("office").post(
        reverse("user_edit", args=["county"]),
        edit_form(
            county,
            display_name="俞佳宁",
            organisation=str(orgs["hangzhou"].pk),
            role=Role.PREFECTURE,
            email="yu@example.gov.cn",
            phone="13800000000",
            reason="调任市局",
        ),
    )
    assert response.status_code == 302
    county.refresh_from_db()
    assert (county.organisation, county.role, county.email, county.phone) == (
        orgs["hangzhou"],
        Role.PREFECTURE,
        "yu@example.gov.cn",
        "13800000000",
    )
    event = AuditEvent.objects.filter(
        action=AuditAction.PERMISSION, object_type="accounts.user", object_id=str(county.pk)
    ).latest("pk")
    assert event.username == "office"
    assert "所属单位：杭州市生态环境局西湖分局→杭州市生态环境局" in event.summary
    assert "调任市局" in event.summary
    assert county.history.latest().history_change_reason == "调任市局"
    page = client_for("office").get(reverse("user_edit", args=["county"])).content.decode()
    assert "调任市局" in page and "设区市局" in page


def test_office_deactivates_and_reactivates_an_account_never_deleting_it(
    client_for, personas, client
):
    _, key = issue_token(personas["county"], "对接")
    office = client_for("office")
    refused = office.post(reverse("user_deactivate", args=["county"]), {"reason": ""})
    assert refused.status_code == 400 and "请填写停用原因" in refused.content.decode()
    done = office.post(reverse("user_deactivate", args=["county"]), {"reason": "调离岗位"})
    assert done.status_code == 302
    county = User.objects.get(username="county")
    assert county.is_active is False
    assert "停用账号：调离岗位" in county.history.latest().history_change_reason
    client.logout()
    assert client.post(LOGIN, {"username": "county", "password": PASSWORD}).status_code == 200
    assert client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {key}").status_code == 401
    client.force_login(personas["office"])
    assert client.post(reverse("user_reactivate", args=["county"])).status_code == 302
    assert User.objects.get(username="county").is_active is True


def test_a_reason_over_200_characters_is_refused_and_nothing_changes(client_for, personas):
    office = client_for("office")
    refused = office.post(reverse("user_deactivate", args=["county"]), {"reason": "调" * 201})
    assert (
        refused.status_code == 400 and "原因不能超过200字（现有201字）" in refused.content.decode()
    )
    assert User.objects.get(username="county").is_active is True
    with pytest.raises(ValidationError):
        update_user(
            actor=personas["office"],
            user=personas["county"],
            display_name="改名",
            email="",
            phone="",
            organisation=personas["county"].organisation,
            role=personas["county"].role,
            reason="调" * 201,
        )
    assert User.objects.get(username="county").display_name != "改名"


def test_office_cannot_deactivate_itself(client_for, personas):
    response = client_for("office").post(
        reverse("user_deactivate", args=["office"]), {"reason": "测试"}
    )
    assert response.status_code == 400
    assert "不能停用自己的账号" in response.content.decode()
    assert User.objects.get(username="office").is_active is True


def test_office_forces_a_password_reset_that_voids_the_old_password_and_mails_a_link(
    client_for, personas, client, mailoutbox, django_capture_on_commit_callbacks
):
    office = client_for("office")
    no_mail = office.post(reverse("user_force_reset", args=["county"]))
    assert no_mail.status_code == 400 and "没有登记电子邮箱" in no_mail.content.decode()
    county = personas["county"]
    county.email = "county@example.gov.cn"
    county.save()
    with django_capture_on_commit_callbacks(execute=True):
        response = office.post(reverse("user_force_reset", args=["county"]))
    assert response.status_code == 302
    county.refresh_from_db()
    assert not county.has_usable_password()
    assert mailoutbox[-1].to == ["county@example.gov.cn"]
    event = AuditEvent.objects.filter(action=AuditAction.PASSWORD).latest("pk")
    assert event.username == "office" and "强制重置密码" in event.summary
    client.logout()
    assert client.post(LOGIN, {"username": "county", "password": PASSWORD}).status_code == 200


@pytest.mark.parametrize("target", ["admin", "auditor"])
def test_office_cannot_change_deactivate_or_reset_a_privileged_account(
    client_for, personas, superuser, auditor, target
):
    account = {"admin": superuser, "auditor": auditor}[target]
    account.email = f"{target}@example.gov.cn"
    account.save()
    office = client_for("office")
    page = office.get(reverse("user_edit", args=[target]))
    assert page.status_code == 200 and "只能由系统管理员修改" in page.content.decode()
    edit = office.post(
        reverse("user_edit", args=[target]), edit_form(account, email="office@example.gov.cn")
    )
    assert edit.status_code == 403
    assert office.post(reverse("user_force_reset", args=[target])).status_code == 403
    assert (
        office.post(reverse("user_deactivate", args=[target]), {"reason": "x"}).status_code == 403
    )
    account.refresh_from_db()
    assert account.email == f"{target}@example.gov.cn"
    assert account.has_usable_password() and account.is_active


def test_office_cannot_give_a_user_the_auditor_role_on_the_edit_page(client_for, personas):
    county = personas["county"]
    response = client_for("office").post(
        reverse("user_edit", args=["county"]), edit_form(county, role=Role.AUDITOR)
    )
    assert response.status_code == 400
    assert "只有系统管理员可以授予" in response.content.decode()
    county.refresh_from_db()
    assert county.role == Role.COUNTY


def test_unknown_account_is_404(client_for, personas):
    assert client_for("office").get(reverse("user_edit", args=["nobody"])).status_code == 404


def test_the_admin_names_the_login_lockout_in_chinese_and_keeps_the_users_name_as_written(
    client, superuser
):
    superuser.is_staff = True
    superuser.save()
    client.force_login(superuser)
    page = client.get("/admin/").content.decode()
    assert "登录锁定" in page
    assert ">Axes<" not in page
    for model in ("登录失败记录", "登录锁定计数", "登录日志"):
        assert model in page
    # the greeting shows "admin" as written: the admin's capitals are switched off
    assert "<strong>admin</strong>" in page
    assert "css/admin.css" in page
    css = (Path(__file__).resolve().parents[2] / "static" / "css" / "admin.css").read_text()
    assert "#user-tools" in css and "text-transform: none" in css


def test_a_users_role_must_fit_the_kind_of_its_unit(client_for, personas, orgs):
    client = client_for("office")
    misfit = client.post(reverse("user_create"), new_user_form(orgs, role=Role.OFFICE))
    assert misfit.status_code == 400
    page = misfit.content.decode()
    assert "角色与所属单位" in page and "县（市、区）局" in page
    assert not User.objects.filter(username="xihu2").exists()
    expert_in_office = client.post(
        reverse("user_create"),
        new_user_form(orgs, role=Role.EXPERT, organisation=str(orgs["office"].pk)),
    )
    assert expert_in_office.status_code == 400 and "角色与所属单位" in (
        expert_in_office.content.decode()
    )
    fits = client.post(
        reverse("user_create"),
        new_user_form(orgs, role=Role.OFFICE, organisation=str(orgs["office"].pk)),
    )
    assert fits.status_code == 302


def test_a_users_phone_is_checked_like_the_application_forms(client_for, personas, orgs):
    response = client_for("office").post(
        reverse("user_create"), new_user_form(orgs, phone="0571-1")
    )
    assert response.status_code == 400
    assert "联系电话格式不正确" in response.content.decode()
    assert not User.objects.filter(username="xihu2").exists()


def test_user_form_words_control_characters_and_lengths_as_the_product_does(
    client_for, personas, orgs
):
    client = client_for("office")
    nul = client.post(reverse("user_create"), new_user_form(orgs, username="xi\x00hu"))
    assert nul.status_code == 400
    assert "控制字符" in nul.content.decode() and "空字符串" not in nul.content.decode()
    long = client.post(reverse("user_create"), new_user_form(orgs, display_name="王" * 5000))
    assert long.status_code == 400
    page = long.content.decode()
    assert "不能超过50字（现有5000字）" in page and "确保该变量" not in page
