"""Pilots and applications sent to the API are validated by the pages' own forms.

One validation, not two: what the application form (申报表, `pilots.forms.ApplicationForm`)
and the direct-entry form (`pilots.forms.PilotForm`) allow — the regions a county or a
prefecture may name (N3), the lead departments the user may choose, the term (R1.2), the
milestones, the approval's document number, text lengths — is exactly what the API allows.
The JSON body is turned into the data a browser would post (organisations by their codes,
milestones as the page's formset), the same form is bound to it, and its errors come back as
400 JSON with the form's Chinese messages under the same field names. The domain function
the page calls then runs on the form's cleaned data, as on the page.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from django import forms
from django.http import QueryDict
from rest_framework.exceptions import ValidationError

from pilots.forms import MilestoneFormSet, milestones_from
from pilots.models import Pilot
from pilots.services import MilestoneData

# Organisations are named by their code in the API (as every API output names them).
ORG_FIELDS = ("lead_department", "regions", "participating_units")
MILESTONES = "milestones"
MILESTONE_FIELDS = ("due_date", "title", "reached_on")
PREFIX = "ms"


def _is_multi(field: forms.Field) -> bool:
    return isinstance(field, forms.MultipleChoiceField | forms.ModelMultipleChoiceField)


def _scalar(value: Any) -> str | None:
    """A JSON value as the text a form field reads, or None when it cannot be one."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        text = str(value)
        return None if "\x00" in text else text
    return None


def _get(payload: Mapping, name: str, *, many: bool) -> Any:
    if isinstance(payload, QueryDict):
        return payload.getlist(name) if many else payload.get(name)
    return payload.get(name)


def _org_codes(pilot: Pilot, name: str) -> Any:
    if name == "lead_department":
        return pilot.lead_department.code if pilot.lead_department_id else ""
    return [org.code for org in getattr(pilot, name).all()]


def _current_values(form_class: type[forms.ModelForm], pilot: Pilot) -> dict[str, Any]:
    """What the form shows for a saved pilot, as API input (for a partial update)."""
    values: dict[str, Any] = {}
    for name in form_class.base_fields:
        if name in ORG_FIELDS:
            values[name] = _org_codes(pilot, name)
        elif name in ("plan_attachment", "reason"):
            continue
        elif hasattr(pilot, name):
            value = getattr(pilot, name)
            values[name] = value.isoformat() if isinstance(value, dt.date) else value
    return values


def _form_data(
    form_class: type[forms.ModelForm], payload: Mapping, base: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The data a browser would post for `payload` (over `base`), and shape errors (a list
    where one value belongs, a control character …) by field."""
    data: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for name, field in form_class.base_fields.items():
        if isinstance(field, forms.FileField):
            continue  # uploads come in request.FILES, as on the page
        many = _is_multi(field)
        if name in payload:
            value = _get(payload, name, many=many)
        elif name in base:
            value = base[name]
        else:
            continue
        if many:
            items = value if isinstance(value, list) else [] if value in (None, "") else [value]
            texts = [_scalar(item) for item in items]
            if any(t is None for t in texts):
                errors[name] = [
                    '单位代码无效：应为单位代码的列表，如 ["hz-xihu"]，且不能含控制字符。'
                ]
                continue
            data[name] = texts
        else:
            text = _scalar(value)
            if text is None:
                errors[name] = [
                    "单位代码无效：应为一个单位代码，且不能含控制字符。"
                    if name in ORG_FIELDS
                    else "应为单个文本、数字或日期，且不能含控制字符。"
                ]
                continue
            data[name] = text
    return data, errors


def _formset_data(rows: Any) -> tuple[dict[str, str], list[str]]:
    """The page's milestone formset data for a JSON list of milestones."""
    shape = '应为时间节点的列表，如 [{"due_date": "2026-10-31", "title": "平台上线"}]。'
    if not isinstance(rows, list) or not all(isinstance(r, Mapping) for r in rows):
        return {}, [shape]
    data = {
        f"{PREFIX}-TOTAL_FORMS": str(len(rows)),
        f"{PREFIX}-INITIAL_FORMS": "0",
        f"{PREFIX}-MIN_NUM_FORMS": "0",
        f"{PREFIX}-MAX_NUM_FORMS": "1000",
    }
    for index, row in enumerate(rows):
        for name in MILESTONE_FIELDS:
            text = _scalar(row.get(name))
            if text is None:
                return {}, [shape]
            data[f"{PREFIX}-{index}-{name}"] = text
    return data, []


def _form_errors(form: forms.BaseForm) -> dict[str, list[str]]:
    return {
        ("non_field_errors" if name == "__all__" else name): [e["message"] for e in found]
        for name, found in form.errors.get_json_data().items()
    }


def _formset_errors(formset) -> list:
    errors: list = list(formset.non_form_errors())
    for index, form_errors in enumerate(formset.errors):
        if form_errors:
            errors.append(
                {"index": index, **{k: [str(m) for m in v] for k, v in form_errors.items()}}
            )
    return errors


def validate_pilot_input(
    form_class: type[forms.ModelForm],
    request,
    *,
    instance: Pilot | None = None,
    partial: bool = False,
    **form_kwargs: Any,
) -> tuple[forms.ModelForm, list[MilestoneData] | None]:
    """Bind `form_class` (with the page's keyword arguments: user, call …) and the milestone
    formset to the request's body, as the page binds them to its POST. Returns the valid
    form and the milestones (None when a partial update leaves them as they are); raises a
    400 with every error otherwise."""
    payload = request.data
    if not isinstance(payload, Mapping):
        raise ValidationError({"non_field_errors": ["请求内容应为 JSON 对象。"]})
    base = _current_values(form_class, instance) if (instance is not None and partial) else {}
    data, errors = _form_data(form_class, payload, base)
    form = form_class(data, request.FILES or None, instance=instance, **form_kwargs)
    for name in ORG_FIELDS:
        if name in form.fields:
            form.fields[name].to_field_name = "code"
    milestones: list[MilestoneData] | None = None
    if MILESTONES in payload or not partial:
        rows = _get(payload, MILESTONES, many=False) if MILESTONES in payload else []
        formset_data, shape = _formset_data(rows)
        if shape:
            errors[MILESTONES] = shape
        else:
            formset = MilestoneFormSet(formset_data, prefix=PREFIX)
            if formset.is_valid():
                milestones = milestones_from(formset)
            else:
                errors[MILESTONES] = _formset_errors(formset)
    if not form.is_valid():
        for name, messages in _form_errors(form).items():
            errors.setdefault(name, []).extend(messages)
    if errors:
        raise ValidationError(errors)
    return form, milestones
