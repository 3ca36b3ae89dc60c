"""Every API error as JSON with a Chinese message: {"detail": "…", "errors": {field: […]}}.
Domain functions raise Django's ValidationError (400) and PermissionDenied (403); records
outside the user's reach are 404, as on the pages."""

from __future__ import annotations

import re

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_handler

MESSAGES = {
    exceptions.NotAuthenticated: (
        "请先登录，或在请求头中提供有效的访问令牌（Authorization: Token …）。"
    ),
    exceptions.NotFound: "未找到该记录，或您无权查看。",
    exceptions.ParseError: "请求内容无法解析，请提交有效的 JSON 或表单数据。",
    exceptions.PermissionDenied: "您所在单位或角色无权进行此操作。",
}


# The product's wording for DRF's stock field errors, by the field kind and error code that
# raised them; a message a serializer wrote itself is kept.
FIELD_MESSAGES = [
    (serializers.Serializer, "invalid", "应为逐项填写的对象（JSON 字典）。"),
    (serializers.ListSerializer, "not_a_list", "应为列表。"),
    (serializers.ListSerializer, "empty", "不能为空列表。"),
    (serializers.ListField, "not_a_list", "应为列表。"),
    (serializers.ListField, "empty", "不能为空列表。"),
    (serializers.MultipleChoiceField, "not_a_list", "应为列表。"),
    (serializers.DictField, "not_a_dict", "应为对象（JSON 字典）。"),
    (serializers.BooleanField, "invalid", "应为是或否（true/false）。"),
    (serializers.CharField, "invalid", "应为文字。"),
    (serializers.CharField, "blank", "此项不能为空。"),
    (serializers.IntegerField, "invalid", "应为整数。"),
    (serializers.FloatField, "invalid", "应为数字。"),
    (serializers.DecimalField, "invalid", "应为数字。"),
    (serializers.Field, "required", "此项为必填项。"),
    (serializers.Field, "null", "此项不能为 null，请填写。"),
]


def _stock_patterns() -> list[tuple[str, re.Pattern, str]]:
    """(code, DRF's message as a pattern in the active language, ours)."""
    found = []
    for kind, code, ours in FIELD_MESSAGES:
        stock = str(kind.default_error_messages.get(code) or "")
        if not stock and code in ("required", "null"):
            stock = str(serializers.Field.default_error_messages[code])
        if stock:
            parts = re.split(r"\{[^}]*\}", stock)
            found.append((code, re.compile("^" + ".*?".join(map(re.escape, parts)) + "$"), ours))
    return found


def product_wording(detail, patterns=None):
    """`detail` (a serializer's errors) with DRF's stock messages in the product's words."""
    patterns = _stock_patterns() if patterns is None else patterns
    if isinstance(detail, dict):
        return {key: product_wording(value, patterns) for key, value in detail.items()}
    if isinstance(detail, list):
        return [product_wording(value, patterns) for value in detail]
    code = getattr(detail, "code", None)
    for stock_code, pattern, ours in patterns:
        if code == stock_code and pattern.match(str(detail)):
            return exceptions.ErrorDetail(ours, code=code)
    return detail


def _django_errors(exc: DjangoValidationError) -> dict:
    if hasattr(exc, "error_dict"):
        return {
            ("non_field_errors" if k == "__all__" else k): v for k, v in exc.message_dict.items()
        }
    return {"non_field_errors": exc.messages}


def _first(errors) -> str:
    """The first message, prefixed with the field it concerns: "reason：该字段不能为空。"."""
    if isinstance(errors, dict):
        for key, value in errors.items():
            found = _first(value)
            if found:
                return found if key == "non_field_errors" else f"{key}：{found}"
        return ""
    if isinstance(errors, list):
        for value in errors:
            found = _first(value)
            if found:
                return found
        return ""
    return str(errors)


def exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        errors = _django_errors(exc)
        return Response(
            {"detail": _first(errors) or "提交的数据有误。", "errors": errors},
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, DjangoPermissionDenied):
        message = str(exc) or MESSAGES[exceptions.PermissionDenied]
        exc = exceptions.PermissionDenied(message)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound(_chinese(str(exc)) or MESSAGES[exceptions.NotFound])
    if isinstance(exc, exceptions.ValidationError):
        errors = product_wording(
            exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        )
        response = Response(
            {"detail": "提交的数据有误：" + _first(errors), "errors": errors},
            status=status.HTTP_400_BAD_REQUEST,
        )
        return response
    if isinstance(exc, exceptions.PermissionDenied) and str(exc.detail).startswith("CSRF"):
        exc = exceptions.PermissionDenied(
            "CSRF 校验失败：以登录会话调用接口时须带 X-CSRFToken 请求头；系统对接请使用访问令牌。"
        )
    elif isinstance(exc, exceptions.MethodNotAllowed):
        exc = exceptions.MethodNotAllowed(
            context["request"].method, f"不支持 {context['request'].method} 请求。"
        )
    elif isinstance(exc, exceptions.UnsupportedMediaType):
        exc = exceptions.UnsupportedMediaType(
            exc.args[0] if exc.args else "",
            "不支持该请求内容类型，请使用 JSON 或 multipart/form-data。",
        )
    else:
        for cls, message in MESSAGES.items():
            if type(exc) is cls and not _written_here(exc):
                replaced = cls(message)
                # DRF put the WWW-Authenticate challenge on the original exception.
                replaced.auth_header = getattr(exc, "auth_header", None)
                exc = replaced
                break
    return drf_handler(exc, context)


def _chinese(message: str) -> str:
    """The message when it is written in Chinese (not Django's English default), else ""."""
    return message if any("\u4e00" <= ch <= "\u9fff" for ch in message) else ""


def _written_here(exc) -> bool:
    """A Chinese message a view or the access gate wrote itself is kept as it is; DRF's
    defaults and English parser messages are replaced by ours."""
    detail = str(exc.detail)
    return bool(_chinese(detail)) and detail != str(type(exc).default_detail)
