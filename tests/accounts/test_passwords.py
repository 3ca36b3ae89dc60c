"""Every user changes their own password and resets a forgotten one by e-mail; both are
audited without the secret; the e-mailed link works end to end."""

from __future__ import annotations

import re

from django.urls import reverse

from accounts.constants import AuditAction
from accounts.models import AuditEvent, User
from tests.factories import PASSWORD

LOGIN = "/accounts/login/"
NEW_PASSWORD = "Qiantang-River-2027"


def reset_path(mail) -> str:
    return re.search(r"https?://[^/\s]+(/accounts/password/reset/[\w-]+/[\w-]+/)", mail.body)[1]


def test_a_user_changes_their_password_from_the_profile_page(client_for, personas, client):
    client = client_for("dept")
    profile = client.get(reverse("profile")).content.decode()
    assert reverse("password_change") in profile
    page = client.get(reverse("password_change")).content.decode()
    assert "原密码" in page and "再次输入新密码" in page
    wrong = client.post(
        reverse("password_change"),
        {"old_password": "nope", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert wrong.status_code == 400 and "原密码不正确" in wrong.content.decode()
    done = client.post(
        reverse("password_change"),
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
        follow=True,
    )
    assert "密码已修改" in done.content.decode()
    assert User.objects.get(username="dept").check_password(NEW_PASSWORD)
    event = AuditEvent.objects.get(action=AuditAction.PASSWORD)
    assert event.username == "dept" and "修改本人密码" in event.summary
    assert NEW_PASSWORD not in event.summary


def test_a_forgotten_password_is_reset_through_the_emailed_link_end_to_end(
    client, personas, mailoutbox
):
    dept = personas["dept"]
    dept.email = "dept@example.gov.cn"
    dept.save()
    login_page = client.get(LOGIN).content.decode()
    assert reverse("password_reset") in login_page and "忘记密码" in login_page
    sent = client.post(reverse("password_reset"), {"email": "DEPT@example.gov.cn"}, follow=True)
    assert "请查收邮件" in sent.content.decode()
    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["dept@example.gov.cn"]
    assert "重置登录密码" in mailoutbox[0].subject and "dept" in mailoutbox[0].body
    # The link opens the form (Django swaps the token into the session and redirects).
    form_page = client.get(reset_path(mailoutbox[0]), follow=True)
    assert "设置新密码" in form_page.content.decode()
    set_url = form_page.redirect_chain[-1][0]
    mismatch = client.post(set_url, {"new_password1": NEW_PASSWORD, "new_password2": "x"})
    assert mismatch.status_code == 400 and "两次输入的新密码不一致" in mismatch.content.decode()
    done = client.post(
        set_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}, follow=True
    )
    assert "密码已重置" in done.content.decode()
    # The link is used up; the new password signs in, the old one does not.
    again = client.get(reset_path(mailoutbox[0]), follow=True).content.decode()
    assert "链接已失效" in again
    assert client.post(LOGIN, {"username": "dept", "password": PASSWORD}).status_code == 200
    signed_in = client.post(LOGIN, {"username": "dept", "password": NEW_PASSWORD})
    assert signed_in.status_code == 302
    summaries = list(
        AuditEvent.objects.filter(action=AuditAction.PASSWORD).values_list("summary", flat=True)
    )
    assert any("申请通过邮件重置密码" in s for s in summaries)
    assert any("通过重置链接设置新密码" in s and "dept" in s for s in summaries)
    assert not any(NEW_PASSWORD in s or "/password/reset/" in s for s in summaries)


def test_an_unknown_address_gets_the_same_answer_and_no_mail(client, personas, mailoutbox):
    response = client.post(reverse("password_reset"), {"email": "nobody@example.gov.cn"})
    assert response.status_code == 302
    assert response["Location"] == reverse("password_reset_done")
    assert mailoutbox == []


def test_a_user_whose_password_the_office_reset_can_ask_for_a_new_link(
    client, personas, mailoutbox
):
    county = personas["county"]
    county.email = "county@example.gov.cn"
    county.set_unusable_password()
    county.save()
    client.post(reverse("password_reset"), {"email": "county@example.gov.cn"})
    assert len(mailoutbox) == 1


def test_a_bad_reset_link_says_so_in_chinese(client, personas):
    page = client.get(reverse("password_reset_confirm", args=["MQ", "bad-token"]))
    assert page.status_code == 200 and "链接已失效" in page.content.decode()


def test_the_reset_request_form_answers_bad_input_in_chinese(client, personas):
    page = client.post(reverse("password_reset"), {"email": "不是邮箱"})
    assert page.status_code == 400 and "电子邮箱格式不正确" in page.content.decode()


def test_demo_accounts_have_addresses_so_the_reset_mail_is_written_to_the_mail_folder(
    client, db, settings, tmp_path
):
    from demo.people import DEMO_ACCOUNTS, ensure_demo_users
    from tests.factories import OrganisationFactory

    orgs = {a.org_code: OrganisationFactory(code=a.org_code) for a in DEMO_ACCOUNTS}
    users, _, _ = ensure_demo_users(orgs)
    assert users["office"].email == "office@example.gov.cn"
    assert all(user.email for user in users.values())
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = tmp_path
    client.post(reverse("password_reset"), {"email": "office@example.gov.cn"})
    written = "".join(path.read_text() for path in tmp_path.iterdir())
    assert "office@example.gov.cn" in written and "/accounts/password/reset/" in written
