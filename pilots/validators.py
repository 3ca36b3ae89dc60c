"""Field validators for official data."""

import re

from django.core.exceptions import ValidationError

# An official document number: issuing-body abbreviation, year in 〔〕, serial, 号.
# Examples: 浙环函〔2018〕123号, 浙委办发〔2016〕49号, 环办政法〔2019〕5号.
DOC_NUMBER_RE = re.compile(r"^[\u4e00-\u9fff]{1,12}〔(19|20)\d{2}〕\d{1,5}号$")
# A landline with its area code (0571-87654321, (0571)87654321, 057187654321, with an
# extension 0571-87654321-802) or a mobile number (13812345678, 138 1234 5678, +86 138…).
LANDLINE_RE = re.compile(r"^(?:0\d{2,3}|\(0\d{2,3}\)|（0\d{2,3}）)[- ]?[1-9]\d{6,7}(?:-\d{1,6})?$")
MOBILE_RE = re.compile(r"^(?:\+?86)?1[3-9]\d{9}$")
PHONE_MESSAGE = (
    "联系电话格式不正确：固定电话请带区号，如0571-87654321；手机号码为11位数字，如13812345678。"
)


def validate_doc_number(value: str) -> None:
    if value and not DOC_NUMBER_RE.match(value):
        raise ValidationError(
            "文号格式不正确，应为“机关代字〔年份〕序号号”，如：浙环函〔2018〕123号。",
            code="doc_number",
        )


def validate_phone(value: str) -> None:
    if not value:
        return
    value = value.strip()
    if LANDLINE_RE.match(value) or MOBILE_RE.match(re.sub(r"[\s-]", "", value)):
        return
    raise ValidationError(PHONE_MESSAGE, code="phone")
