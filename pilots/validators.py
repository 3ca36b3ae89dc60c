"""Field validators for official data."""

import re

from django.core.exceptions import ValidationError

from core.validators import LANDLINE_RE, MOBILE_RE, PHONE_MESSAGE, validate_phone

__all__ = [
    "DOC_NUMBER_RE",
    "LANDLINE_RE",
    "MOBILE_RE",
    "PHONE_MESSAGE",
    "validate_doc_number",
    "validate_phone",
]

# An official document number: issuing-body abbreviation, year in 〔〕, serial, 号.
# Examples: 浙环函〔2018〕123号, 浙委办发〔2016〕49号, 环办政法〔2019〕5号.
DOC_NUMBER_RE = re.compile(r"^[\u4e00-\u9fff]{1,12}〔(19|20)\d{2}〕\d{1,5}号$")


def validate_doc_number(value: str) -> None:
    if value and not DOC_NUMBER_RE.match(value):
        raise ValidationError(
            "文号格式不正确，应为“机关代字〔年份〕序号号”，如：浙环函〔2018〕123号。",
            code="doc_number",
        )
