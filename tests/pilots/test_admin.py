"""The admin reads every model and changes pilots only through the domain functions: the
end-of-term records, overdue events and job runs are read-only there, nothing can be deleted."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib import admin
from django.urls import reverse

from core.models import JobRun
from pilots import jobs
from pilots.models import OverdueEvent, Pilot


@pytest.fixture
def data(make_pilot):
    pilot = make_pilot(end_date=dt.date(2026, 6, 30))
    jobs.flag_overdue(dt.date(2026, 7, 5))
    return pilot


def _url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def _changelists():
    return [
        model
        for model in admin.site._registry
        if model._meta.app_label in ("pilots", "accounts", "ledger", "django_celery_beat")
    ]


def test_every_admin_list_and_record_opens(admin_client, data):
    for model in _changelists():
        response = admin_client.get(_url(model, "changelist"))
        assert response.status_code == 200, model
        obj = model._default_manager.first()
        if obj is not None:
            response = admin_client.get(_url(model, "change", obj.pk))
            assert response.status_code == 200, model


@pytest.mark.parametrize("model", [OverdueEvent, JobRun])
def test_job_records_are_read_only_in_the_admin(admin_client, data, model):
    obj = model.objects.first()
    assert admin_client.get(_url(model, "add")).status_code == 403
    delete = _url(model, "delete", obj.pk)
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    assert model.objects.filter(pk=obj.pk).exists()


def test_a_pilot_cannot_be_deleted_in_the_admin(admin_client, data):
    delete = reverse("admin:pilots_pilot_delete", args=[data.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    assert Pilot.objects.filter(pk=data.pk).exists()
