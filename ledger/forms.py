"""Forms of the ledger: the filing form (备案表), quarterly progress, half-year summary."""

from __future__ import annotations

from django import forms

from core.dates import QUARTER_NAMES
from core.forms import ProductForm
from ledger.filing import FILING_FIELDS, FILING_LIMITS
from ledger.reports import REPORT_FIELDS, REPORT_LIMITS
from ledger.summaries import SUMMARY_FIELDS, SUMMARY_LIMITS
from pilots.forms import DATE_WIDGET
from pilots.uploads import checked_attachment
from pilots.validators import validate_doc_number, validate_phone

TEXTAREA = forms.Textarea(attrs={"rows": 3})

# The fields a page's form and the API take for the same domain function, declared once (on
# the domain's lists): the forms below and the API's input serializers take their fields from
# these. The half-year summary's are the domain's own (ledger.summaries.SUMMARY_FIELDS).
FILING_FORM_FIELDS = (*FILING_FIELDS, "plan")
QUARTERLY_REPORT_FORM_FIELDS = (*REPORT_FIELDS, "attachment", "correction_reason")


class FilingForm(ProductForm, forms.Form):
    """《生态文明领域新增改革试点项目备案表》 (R2.2)."""

    field_order = FILING_FORM_FIELDS

    approval_authority = forms.CharField(label="批复机关", max_length=100)
    approval_doc_number = forms.CharField(
        label="批复文号", max_length=50, validators=[validate_doc_number]
    )
    approval_date = forms.DateField(label="批复日期", widget=DATE_WIDGET)
    implementing_body = forms.CharField(label="实施主体", max_length=200)
    start_date = forms.DateField(label="开始日期", widget=DATE_WIDGET)
    end_date = forms.DateField(label="结束日期", widget=DATE_WIDGET)
    goal = forms.CharField(label="试点目标", max_length=FILING_LIMITS["goal"], widget=TEXTAREA)
    measures = forms.CharField(
        label="推进措施",
        max_length=FILING_LIMITS["measures"],
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    expected_outcomes = forms.CharField(
        label="预期成果", max_length=FILING_LIMITS["expected_outcomes"], widget=TEXTAREA
    )
    milestones_text = forms.CharField(
        label="时间节点",
        required=False,
        max_length=FILING_LIMITS["milestones_text"],
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="每行一个：日期 阶段目标，如“2026-09-30 完成制度设计”；日期须在试点期限内。",
    )
    contact_person = forms.CharField(label="联系人", max_length=50)
    contact_phone = forms.CharField(label="联系电话", max_length=30, validators=[validate_phone])
    plan = forms.FileField(label="试点方案", help_text="PDF、DOCX 或 XLSX。")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.error_messages["required"] = "此项为必填项。"
            if isinstance(field, forms.DateField):
                field.error_messages["invalid"] = "请输入有效日期。"
        self.fields["plan"].error_messages["required"] = "请上传试点方案（备案须附试点方案）。"

    def clean_plan(self):
        return checked_attachment(self.cleaned_data.get("plan"))


class QuarterlyReportForm(ProductForm, forms.Form):
    field_order = QUARTERLY_REPORT_FORM_FIELDS

    progress = forms.CharField(
        label="工作进展",
        max_length=REPORT_LIMITS["progress"],
        widget=forms.Textarea(attrs={"rows": 5}),
    )
    milestones_reached = forms.CharField(
        label="节点完成情况",
        required=False,
        max_length=REPORT_LIMITS["milestones_reached"],
        widget=TEXTAREA,
    )
    problems = forms.CharField(
        label="存在问题", required=False, max_length=REPORT_LIMITS["problems"], widget=TEXTAREA
    )
    next_steps = forms.CharField(
        label="下步打算", required=False, max_length=REPORT_LIMITS["next_steps"], widget=TEXTAREA
    )
    attachment = forms.FileField(label="附件", required=False)
    correction_reason = forms.CharField(
        label="更正说明", required=False, max_length=500, help_text="更正已报送的进展时必填。"
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["progress"].error_messages["required"] = "请填写工作进展。"

    def clean_attachment(self):
        return checked_attachment(self.cleaned_data.get("attachment"))


class HalfYearSummaryForm(ProductForm, forms.Form):
    field_order = SUMMARY_FIELDS

    overview = forms.CharField(
        label="总体情况",
        max_length=SUMMARY_LIMITS["overview"],
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    progress = forms.CharField(
        label="主要进展",
        max_length=SUMMARY_LIMITS["progress"],
        widget=forms.Textarea(attrs={"rows": 8}),
    )
    problems = forms.CharField(
        label="存在问题",
        required=False,
        max_length=SUMMARY_LIMITS["problems"],
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    next_steps = forms.CharField(
        label="下步打算",
        required=False,
        max_length=SUMMARY_LIMITS["next_steps"],
        widget=forms.Textarea(attrs={"rows": 4}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.error_messages["required"] = "此项为必填项。"


class RenderRequestForm(forms.Form):
    year = forms.IntegerField(label="年度", min_value=2015, max_value=2100)
    quarter = forms.ChoiceField(
        label="季度", choices=[(q, f"第{QUARTER_NAMES[q]}季度") for q in range(1, 5)]
    )
    department = forms.ModelChoiceField(
        label="范围", queryset=None, required=False, empty_label="全省"
    )

    def __init__(self, *args, departments, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["department"].queryset = departments
        self.fields["year"].error_messages["invalid"] = "请输入年度。"
