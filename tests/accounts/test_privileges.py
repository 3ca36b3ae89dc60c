"""Only a superuser grants superuser or staff status, privileged roles, groups or
permissions — through the admin, through any form, through any save — and every change to a
user is audited with the fields changed (never the password hash)."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from django import forms
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.test import RequestFactory
from simple_history.models import HistoricalRecords

from accounts.constants import AuditAction, Role
from accounts.models import AuditEvent, User
from tests.factories import UserFactory


@contextmanager
def acting_as(user):
    """Run the block as if inside a request signed in as `user` (as the middleware sets it)."""
    request = RequestFactory().post("/somewhere/")
    request.user = user
    HistoricalRecords.context.request = request
    try:
        yield
    finally:
        del HistoricalRecords.context.request


@pytest.fixture
def staff_office(personas):
    """The office as in production: admin access with the office group's user rights."""
    office = personas["office"]
    office.is_staff = True
    office.save()
    office.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label="accounts", codename__in=["view_user", "change_user"]
        )
    )
    return User.objects.get(pk=office.pk)


@pytest.fixture
def superuser(orgs):
    return UserFactory(
        username="admin",
        organisation=orgs["office"],
        role=Role.ADMIN,
        is_staff=True,
        is_superuser=True,
    )


def admin_change_form(user: User, **overrides) -> dict:
    data = {
        "username": user.username,
        "first_name": "",
        "last_name": "",
        "email": user.email,
        "is_active": "on",
        "date_joined_0": "2026-01-05",
        "date_joined_1": "09:00:00",
        "organisation": str(user.organisation_id),
        "role": user.role,
        "display_name": user.display_name,
        "phone": user.phone,
    }
    data.update(overrides)
    return data


def test_office_cannot_make_itself_superuser_through_the_admin_user_form(client, staff_office):
    group = Group.objects.create(name="全部权限")
    perm = Permission.objects.get(codename="delete_user")
    client.force_login(staff_office)
    response = client.post(
        f"/admin/accounts/user/{staff_office.pk}/change/",
        admin_change_form(
            staff_office,
            display_name="陈晓岚",
            is_superuser="on",
            is_staff="on",
            groups=[str(group.pk)],
            user_permissions=[str(perm.pk)],
        ),
    )
    assert response.status_code == 302
    staff_office.refresh_from_db()
    # The rest of the form was saved; the rights in it were ignored.
    assert staff_office.display_name == "陈晓岚"
    assert staff_office.is_superuser is False
    assert not staff_office.groups.exists()
    assert not staff_office.user_permissions.filter(codename="delete_user").exists()


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"organisation": ""}, "organisation", "请选择所属单位"),
        ({"role": Role.PREFECTURE}, "role", "不符"),
        ({"display_name": ""}, "display_name", "请填写姓名"),
        ({"display_name": "\u200b\ufeff"}, "display_name", "请填写姓名"),
        ({"phone": "电话号码"}, "phone", "联系电话格式不正确"),
    ],
    ids=["no unit", "role misfit", "no name", "invisible name", "bad phone"],
)
def test_the_admin_user_form_checks_the_profile_as_the_user_pages_do(
    client, staff_office, personas, change, field, message
):
    county = personas["county"]
    before = (county.organisation_id, county.role, county.display_name, county.phone)
    client.force_login(staff_office)
    response = client.post(
        f"/admin/accounts/user/{county.pk}/change/", admin_change_form(county, **change)
    )
    assert response.status_code == 200  # the form again, with the error beside its field
    errors = response.context["adminform"].form.errors
    assert field in errors and message in " ".join(errors[field])
    county.refresh_from_db()
    assert (county.organisation_id, county.role, county.display_name, county.phone) == before


def test_the_admin_user_form_still_saves_a_valid_profile(client, staff_office, personas):
    county = personas["county"]
    client.force_login(staff_office)
    response = client.post(
        f"/admin/accounts/user/{county.pk}/change/",
        admin_change_form(county, display_name="俞佳宁（西湖）"),
    )
    assert response.status_code == 302
    county.refresh_from_db()
    assert county.display_name == "俞佳宁（西湖）"


def test_the_admin_shows_rights_read_only_to_staff_and_hides_privileged_roles(client, staff_office):
    client.force_login(staff_office)
    page = client.get(f"/admin/accounts/user/{staff_office.pk}/change/").content.decode()
    assert 'name="is_superuser"' not in page
    assert 'name="groups"' not in page
    assert 'name="role"' in page
    assert 'value="auditor"' not in page and 'value="admin"' not in page


def test_office_cannot_change_a_superusers_account_in_the_admin(client, staff_office, superuser):
    client.force_login(staff_office)
    response = client.post(
        f"/admin/accounts/user/{superuser.pk}/change/",
        admin_change_form(superuser, email="office@example.gov.cn"),
    )
    assert response.status_code == 403
    superuser.refresh_from_db()
    assert superuser.email == ""
    password_page = client.post(
        f"/admin/accounts/user/{superuser.pk}/password/",
        {"password1": "Another-Pass-2026", "password2": "Another-Pass-2026"},
    )
    assert password_page.status_code == 403


def test_a_form_saved_by_a_non_superuser_cannot_grant_superuser_or_staff(personas):
    class RightsForm(forms.ModelForm):
        class Meta:
            model = User
            fields = ["is_superuser", "is_staff", "display_name"]

    office = personas["office"]
    form = RightsForm({"is_superuser": "on", "display_name": "x"}, instance=office)
    assert form.is_valid()
    with acting_as(office), pytest.raises(PermissionDenied):
        form.save()
    office.refresh_from_db()
    assert office.is_superuser is False
    county = personas["county"]
    county.is_staff = True
    with acting_as(office), pytest.raises(PermissionDenied):
        county.save()
    assert User.objects.get(pk=county.pk).is_staff is False


def test_a_non_superuser_cannot_grant_the_auditor_or_admin_role_by_saving(personas):
    county = personas["county"]
    county.role = Role.AUDITOR
    with acting_as(personas["office"]), pytest.raises(PermissionDenied):
        county.save()
    assert User.objects.get(pk=county.pk).role == Role.COUNTY


def test_groups_and_permissions_are_granted_by_superusers_only(personas, superuser):
    group = Group.objects.create(name="省办工作人员")
    perm = Permission.objects.get(codename="change_user")
    office = personas["office"]
    with acting_as(office):
        # Each refused write in its own savepoint, as a request's transaction would end.
        with pytest.raises(PermissionDenied), transaction.atomic():
            office.groups.add(group)
        with pytest.raises(PermissionDenied), transaction.atomic():
            office.user_permissions.add(perm)
        with pytest.raises(PermissionDenied), transaction.atomic():
            group.permissions.add(perm)
    assert not office.groups.exists() and not office.user_permissions.exists()
    with acting_as(superuser):
        office.groups.add(group)
    assert office.groups.filter(pk=group.pk).exists()


def test_a_superuser_grants_staff_status_and_the_audit_names_the_field(personas, superuser):
    county = personas["county"]
    county.is_staff = True
    with acting_as(superuser):
        county.save()
    event = AuditEvent.objects.filter(
        action=AuditAction.PERMISSION, object_type="accounts.user", object_id=str(county.pk)
    )
    summaries = list(event.values_list("summary", flat=True))
    assert any("→" in s and "否→是" in s for s in summaries), summaries


def test_every_user_change_is_audited_with_old_and_new_values_and_no_password_hash(personas, orgs):
    county = personas["county"]
    county.organisation = orgs["hangzhou"]
    county.role = Role.PREFECTURE
    county.display_name = "俞佳宁"
    county.set_password("New-Password-2027")
    with acting_as(personas["office"]):
        county.save()
    summary = (
        AuditEvent.objects.filter(
            action=AuditAction.PERMISSION, object_type="accounts.user", object_id=str(county.pk)
        )
        .latest("pk")
        .summary
    )
    assert "所属单位：杭州市生态环境局西湖分局→杭州市生态环境局" in summary
    assert "角色：县（市、区）局→设区市局" in summary
    assert "姓名：（空）→俞佳宁" in summary
    password_events = AuditEvent.objects.filter(action=AuditAction.PASSWORD)
    assert (
        password_events.filter(object_type="accounts.user", object_id=str(county.pk)).count() == 1
    )
    hash_tail = county.password.split("$")[-1]
    assert not AuditEvent.objects.filter(summary__contains=hash_tail).exists()
    assert not AuditEvent.objects.filter(summary__contains="New-Password").exists()
