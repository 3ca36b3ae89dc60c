"""Field validators every layer shares: telephone numbers, the reason given for a change."""

import re

from django.core.exceptions import ValidationError

from core.forms import length_errors

# A landline with its area code (0571-87654321, (0571)87654321, 057187654321, with an
# extension 0571-87654321-802) or a mobile number (13812345678, 138 1234 5678, +86 138…).
LANDLINE_RE = re.compile(r"^(?:0\d{2,3}|\(0\d{2,3}\)|（0\d{2,3}）)[- ]?[1-9]\d{6,7}(?:-\d{1,6})?$")
MOBILE_RE = re.compile(r"^(?:\+?86)?1[3-9]\d{9}$")
PHONE_MESSAGE = (
    "联系电话格式不正确：固定电话请带区号，如0571-87654321；手机号码为11位数字，如13812345678。"
)


def validate_phone(value: str) -> None:
    if not value:
        return
    value = value.strip()
    if LANDLINE_RE.match(value) or MOBILE_RE.match(re.sub(r"[\s-]", "", value)):
        return
    raise ValidationError(PHONE_MESSAGE, code="phone")


# A reason given for a change (修改原因, 停用原因 …): a line of the history, not a report.
REASON_MAX_LENGTH = 200


def clean_reason(value: str | None, *, field: str = "reason") -> str:
    """`value` stripped; refused when longer than REASON_MAX_LENGTH characters."""
    value = (value or "").strip()
    if too_long := length_errors({field: value}, {field: REASON_MAX_LENGTH}):
        raise ValidationError({field: f"原因{too_long[field]}"})
    return value
