"""Field validators for official data."""

import re

from django.core.exceptions import ValidationError

# An official document number: issuing-body abbreviation, year in 〔〕, serial, 号.
# Examples: 浙环函〔2018〕123号, 浙委办发〔2016〕49号, 环办政法〔2019〕5号.
DOC_NUMBER_RE = re.compile(r"^[\u4e00-\u9fff]{1,12}〔(19|20)\d{2}〕\d{1,5}号$")
PHONE_RE = re.compile(r"^[0-9\-+() ]{7,20}$")


def validate_doc_number(value: str) -> None:
    if value and not DOC_NUMBER_RE.match(value):
        raise ValidationError(
            "文号格式不正确，应为“机关代字〔年份〕序号号”，如：浙环函〔2018〕123号。",
            code="doc_number",
        )


def validate_phone(value: str) -> None:
    if value and not PHONE_RE.match(value):
        raise ValidationError("联系电话格式不正确，只能包含数字、空格和“-”。", code="phone")
