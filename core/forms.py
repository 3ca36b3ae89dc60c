"""What every form of the product shares: error messages in the product's own words, control
characters refused beside their field, required fields marked before the first submission,
text limits shown as a live counter, and a domain function's errors placed beside their
fields. Knows no domain."""

from __future__ import annotations

import re
from collections.abc import Mapping

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator

from core.text import has_control_in_text

# The product's wording for Django's built-in errors, by error code. %(limit_value)s and
# %(show_value)s are filled in by Django's validators.
MESSAGES = {
    "required": "此项为必填项。",
    "invalid_choice": "“%(value)s”不在可选范围内，请从列表中选择。",
    "invalid_list": "请从列表中选择。",
    "invalid_pk_value": "“%(pk)s”不在可选范围内，请从列表中选择。",
    "min_value": "不能小于%(limit_value)s。",
    "max_value": "不能大于%(limit_value)s。",
    "max_length": "不能超过%(limit_value)d字（现有%(show_value)d字）。",
    "min_length": "至少%(limit_value)d字（现有%(show_value)d字）。",
    "max_digits": "数字过长，请检查。",
    "max_decimal_places": "最多保留%(max)s位小数。",
    "max_whole_digits": "数字过大，请检查。",
    "step_size": "请输入%(limit_value)s的整数倍。",
}
# "invalid" depends on what the field takes.
INVALID = (
    (forms.DateTimeField, "请输入有效的日期时间。"),
    (forms.DateField, "请输入有效日期。"),
    (forms.DecimalField, "请输入数字。"),  # a DecimalField is an IntegerField: first
    (forms.FloatField, "请输入数字。"),
    (forms.IntegerField, "请输入整数。"),
    (forms.EmailField, "请输入有效的电子邮件地址。"),
)
# Django's own wording, replaced wherever a form kept it: {code: {message, …}}.
_DEFAULTS: dict[str, set[str]] = {}
for _kind in (
    forms.Field,
    forms.ChoiceField,
    forms.MultipleChoiceField,
    forms.ModelChoiceField,
    forms.ModelMultipleChoiceField,
    forms.DecimalField,
    forms.IntegerField,
    forms.FloatField,
    forms.DateField,
    forms.DateTimeField,
    forms.EmailField,
):
    for _code, _message in _kind.default_error_messages.items():
        _DEFAULTS.setdefault(_code, set()).add(str(_message))


def _is_default(own: dict, code: str) -> bool:
    return code not in own or str(own[code]) in _DEFAULTS.get(code, set())


def product_messages(field: forms.Field) -> None:
    """Give `field` the product's wording for every error it still words as Django does."""
    own = dict(field.error_messages)
    for code, message in MESSAGES.items():
        if _is_default(own, code):
            own[code] = message
    for kind, message in INVALID:
        if isinstance(field, kind):
            if _is_default(own, "invalid"):
                own["invalid"] = message
            break
    field.error_messages = own
    # The field's validators carry their own messages: word them the same way.
    limits = []
    for validator in field.validators:
        code = getattr(validator, "code", None)
        if code in ("min_value", "max_value", "max_length", "min_length"):
            validator = type(validator)(validator.limit_value, message=own[code])
        limits.append(validator)
    field.validators = limits


def text_limit(field: forms.Field) -> int | None:
    """The longest text `field` takes, from its max_length or a length validator."""
    found = [v.limit_value for v in field.validators if isinstance(v, MaxLengthValidator)]
    if getattr(field, "max_length", None):
        found.append(field.max_length)
    return min(found) if found else None


class ProductForm:
    """Mixin for a form: the product's error wording on every field, `aria-required` on the
    required ones, and `data-maxlength` on text with a limit (static/js/forms.js counts the
    characters as they are typed). Mix it in before forms.Form / forms.ModelForm."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            prepare_field(field)


# Characters that take no room on the page: text made only of them (and spaces) is empty.
_INVISIBLE = re.compile("[\u200b-\u200f\u2060\ufeff]")


def _empty_when_invisible(to_python):
    def visible(value):
        value = to_python(value)
        if isinstance(value, str) and value and not _INVISIBLE.sub("", value).strip():
            return ""
        return value

    return visible


CONTROL_MESSAGE = "含有不允许的控制字符（如 NUL），请删除后重新填写。"


def _refusing_control(to_python):
    """A page's form value reaches its field even with a control character (the request
    edge lets it pass so that nothing typed is lost): the field refuses it first, beside
    itself, before the value is parsed or looked up."""

    def checked(value):
        texts = value if isinstance(value, list | tuple) else [value]
        if any(isinstance(text, str) and has_control_in_text(text) for text in texts):
            raise ValidationError(CONTROL_MESSAGE, code="control")
        return to_python(value)

    return checked


def prepare_field(field: forms.Field) -> None:
    product_messages(field)
    if isinstance(field, forms.CharField):
        field.to_python = _empty_when_invisible(field.to_python)
    field.to_python = _refusing_control(field.to_python)
    # A control keeps its name where no <label> reaches it: a formset row's cell, or a select
    # that the searchable widget replaces on the page.
    # Radio buttons and checkbox lists are named by their own choices' labels.
    grouped = isinstance(field.widget, forms.RadioSelect | forms.CheckboxSelectMultiple)
    if field.label and not grouped and "aria-label" not in field.widget.attrs:
        field.widget.attrs["aria-label"] = str(field.label)
    if field.required:
        field.widget.attrs["aria-required"] = "true"
    limit = text_limit(field)
    if limit and isinstance(field.widget, forms.Textarea):
        field.widget.attrs["data-maxlength"] = str(limit)
        field.widget.attrs["maxlength"] = str(limit)


def mark_required(field: forms.Field) -> None:
    """Marks a field that may be left empty now but is required later (a draft's fields that
    submission requires): shown with * and aria-required, not enforced by the form."""
    field.marked_required = True
    field.widget.attrs["aria-required"] = "true"


def add_domain_errors(form, errors: Mapping[str, list[str] | str] | ValidationError) -> None:
    """Put a domain check's errors beside the form's fields, the others at the top. A field
    that already has an error keeps that one message: the domain does not add a second."""
    if isinstance(errors, ValidationError):
        if not hasattr(errors, "error_dict"):
            for message in errors.messages:
                form.add_error(None, message)
            return
        errors = errors.message_dict
    for name, messages in errors.items():
        if isinstance(messages, str):
            messages = [messages]
        target = name if name in form.fields else None
        if target is not None and form.errors.get(target):
            continue
        for message in messages:
            if target is None and message in form.non_field_errors():
                continue
            form.add_error(target, message)


def length_errors(values: Mapping[str, object], limits: Mapping[str, int]) -> dict[str, str]:
    """{field: Chinese message} for each text in `values` longer than its limit in `limits`."""
    return {
        name: f"不能超过{limit}字（现有{len(values[name])}字）。"
        for name, limit in limits.items()
        if isinstance(values.get(name), str) and len(values[name]) > limit
    }
