"""Forms of the end of a term (R2.4, R3.2): closure report, extension request, acceptance
report, the office's decisions, restoring a purged pilot, and the overdue list's filters."""

from __future__ import annotations

from django import forms
from django.db.models import Q

from accounts.constants import OrgKind
from accounts.models import Organisation
from core.forms import ProductForm
from pilots.constants import DeadlineKind, EvaluatorType
from pilots.forms import DATE_WIDGET, MilestoneForm
from pilots.uploads import checked_attachment

TEXTAREA = forms.Textarea(attrs={"rows": 4})

# The fields a page's form and the API take for the same domain function, declared once: the
# forms below and the API's input serializers (api.serializers) take their fields from these.
CLOSURE_FIELDS = ("results", "milestones_reached", "experience", "attachment")
# The extension's dated milestones come as a formset on the page, as a list in the API.
EXTENSION_FIELDS = ("reason", "new_end_date", "stage_targets")
ACCEPTANCE_FIELDS = ("summary", "evaluator", "third_party", "attachment")


class _Required(ProductForm, forms.Form):
    """Chinese messages for missing and invalid values; text limits shown as a counter."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.error_messages["required"] = f"请填写{field.label}。"
            if isinstance(field, forms.DateField):
                field.error_messages["invalid"] = "请输入有效日期，如 2027-06-30。"


class ClosureForm(_Required):
    """销号报告 (R2.4)."""

    field_order = CLOSURE_FIELDS

    # Limits (字): the results against the expected outcomes as fully as those were stated
    # (3,000), the rest shorter.
    results = forms.CharField(label="完成情况（对照预期成果）", max_length=3000, widget=TEXTAREA)
    milestones_reached = forms.CharField(
        label="时间节点完成情况", required=False, max_length=1000, widget=TEXTAREA
    )
    experience = forms.CharField(label="可复制推广的经验", max_length=2000, widget=TEXTAREA)
    attachment = forms.FileField(
        label="附件", required=False, help_text="总结材料等，PDF、DOCX 或 XLSX。"
    )

    def clean_attachment(self):
        return checked_attachment(self.cleaned_data.get("attachment"))


class ExtensionForm(_Required):
    """延期申请 (R2.4): the dated milestones come in ExtensionMilestoneFormSet."""

    field_order = EXTENSION_FIELDS

    reason = forms.CharField(label="延期理由", max_length=1000, widget=TEXTAREA)
    new_end_date = forms.DateField(label="申请延至", widget=DATE_WIDGET)
    stage_targets = forms.CharField(label="阶段性目标", max_length=2000, widget=TEXTAREA)


class ExtensionMilestoneForm(MilestoneForm):
    reached_on = None


ExtensionMilestoneFormSet = forms.formset_factory(
    ExtensionMilestoneForm, extra=3, max_num=30, validate_max=True
)


class AcceptanceForm(_Required):
    """总结验收报告 (R3.2)."""

    field_order = ACCEPTANCE_FIELDS

    # The summary report of a whole term (5,000 字); longer reports go in the attachment.
    summary = forms.CharField(
        label="总结报告", max_length=5000, widget=forms.Textarea(attrs={"rows": 6})
    )
    evaluator = forms.ChoiceField(
        label="评估方式", choices=EvaluatorType.choices, widget=forms.RadioSelect
    )
    third_party = forms.CharField(
        label="第三方评估机构", required=False, max_length=200, help_text="委托第三方评估时必填。"
    )
    attachment = forms.FileField(
        label="附件", required=False, help_text="验收报告、评估报告等，PDF、DOCX 或 XLSX。"
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["evaluator"].error_messages["required"] = "请选择评估方式。"

    def clean_attachment(self):
        return checked_attachment(self.cleaned_data.get("attachment"))


class DecisionForm(forms.Form):
    """The office's decision on a closure report or an extension request."""

    ACCEPT = "accept"
    RETURN = "return"
    decision = forms.ChoiceField(choices=[(ACCEPT, "同意"), (RETURN, "退回/不同意")])
    note = forms.CharField(label="意见", required=False, max_length=1000, widget=TEXTAREA)

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("decision") == self.RETURN and not cleaned.get("note", "").strip():
            self.add_error("note", "退回或不同意时须写明理由。")
        return cleaned


class RestoreForm(forms.Form):
    reason = forms.CharField(label="恢复理由", max_length=500, widget=TEXTAREA)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason"].error_messages["required"] = "请填写恢复理由。"


class OverdueFilterForm(forms.Form):
    """Filters of the overdue list; every field optional, bad values ignored with a message."""

    OPEN = "open"
    RESOLVED = "resolved"
    ALL = "all"

    q = forms.CharField(label="搜索", required=False, max_length=100)
    kind = forms.ChoiceField(
        label="事项", required=False, choices=[("", "全部事项"), *DeadlineKind.choices]
    )
    org = forms.ModelChoiceField(
        label="责任单位",
        required=False,
        queryset=Organisation.objects.filter(
            kind__in=[OrgKind.DEPARTMENT, OrgKind.DIVISION]
        ).order_by("kind", "sort_order", "code"),
        empty_label="全部责任单位",
        to_field_name="code",
    )
    state = forms.ChoiceField(
        label="状态",
        required=False,
        choices=[(OPEN, "未解除"), (RESOLVED, "已解除"), (ALL, "全部")],
    )

    def filter(self, qs):
        data = self.cleaned_data
        state = data.get("state") or self.OPEN
        if state == self.OPEN:
            qs = qs.filter(resolved_on__isnull=True)
        elif state == self.RESOLVED:
            qs = qs.filter(resolved_on__isnull=False)
        if data.get("kind"):
            qs = qs.filter(kind=data["kind"])
        if data.get("org"):
            org = data["org"]
            qs = qs.filter(Q(organisation=org) | Q(organisation__parent=org))
        if data.get("q"):
            term = data["q"].strip()
            qs = qs.filter(Q(label__icontains=term) | Q(pilot__code__icontains=term))
        return qs
