"""Forms for pilots entered directly by their lead department (R2.2) and for filtering lists."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Q

from accounts.constants import OrgKind
from accounts.models import Organisation
from pilots import rules
from pilots.constants import (
    SCREENING_CRITERIA,
    Origin,
    OverlapVerdict,
    PilotKind,
    ReformField,
    Status,
    Tier,
)
from pilots.models import Pilot
from pilots.policy import is_office
from pilots.services import MilestoneData
from pilots.uploads import validate_attachment
from pilots.validators import validate_doc_number

DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class OrgChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Organisation) -> str:
        return obj.name


class OrgMultipleChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Organisation) -> str:
        if obj.kind == OrgKind.COUNTY and obj.parent_id:
            return f"{obj.parent.short_name} · {obj.short_name}"
        return obj.short_name


def lead_department_choices(user):
    qs = Organisation.objects.filter(
        kind__in=[OrgKind.DEPARTMENT, OrgKind.DIVISION], is_active=True
    ).order_by("kind", "sort_order", "code")
    if not is_office(user) and user.organisation_id:
        org = user.organisation
        qs = qs.filter(Q(pk=org.pk) | Q(parent=org))
    return qs


# The fields a page's form and the API take for the same domain function, declared once: the
# forms below and the API's input serializers (api.serializers) take their fields from these.

# A pilot entered directly (R2.2), without its plan upload: PilotForm, the API's direct entry.
DIRECT_ENTRY_FIELDS = (
    "name",
    "field",
    "kind",
    "origin",
    "regions",
    "implementing_body",
    "lead_department",
    "participating_units",
    "goal",
    "scope",
    "start_date",
    "end_date",
    "responsible_body",
    "measures",
    "expected_outcomes",
    "work_foundation",
    "contact_person",
    "contact_phone",
    "approval_authority",
    "approval_doc_number",
    "approval_date",
)
# An application in a call (N3), without its plan upload: ApplicationForm, the API's application.
APPLICATION_FIELDS = (
    "name",
    "field",
    "kind",
    "regions",
    "implementing_body",
    "lead_department",
    "participating_units",
    "goal",
    "scope",
    "start_date",
    "end_date",
    "responsible_body",
    "measures",
    "expected_outcomes",
    "work_foundation",
    "contact_person",
    "contact_phone",
)
# The office's verdict on an overlap flag (R1.3).
OVERLAP_VERDICT_FIELDS = ("verdict", "note")


class PilotForm(forms.ModelForm):
    """The six entry elements (R1.1), term (R1.2), origin (R2.1) and approval (R2.2), for
    pilots a lead department enters directly."""

    draft_optional: tuple[str, ...] = ()

    regions = OrgMultipleChoiceField(
        label="试点地区",
        queryset=Organisation.objects.filter(kind__in=[OrgKind.PREFECTURE, OrgKind.COUNTY])
        .select_related("parent")
        .order_by("kind", "sort_order", "code"),
        required=True,
        widget=forms.SelectMultiple(attrs={"size": 8}),
        error_messages={"required": "请选择至少一个试点地区。"},
    )
    participating_units = OrgMultipleChoiceField(
        label="参加单位",
        queryset=Organisation.objects.filter(
            kind__in=[OrgKind.DEPARTMENT, OrgKind.DIVISION, OrgKind.PREFECTURE]
        ).select_related("parent"),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 6}),
    )
    reason = forms.CharField(
        label="修改说明", max_length=200, required=False, help_text="记入变更历史。"
    )

    class Meta:
        model = Pilot
        fields = [*DIRECT_ENTRY_FIELDS, "plan_attachment"]
        widgets = {
            "start_date": DATE_WIDGET,
            "end_date": DATE_WIDGET,
            "approval_date": DATE_WIDGET,
            "goal": forms.Textarea(attrs={"rows": 3}),
            "scope": forms.Textarea(attrs={"rows": 2}),
            "measures": forms.Textarea(attrs={"rows": 4}),
            "expected_outcomes": forms.Textarea(attrs={"rows": 3}),
            "work_foundation": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        if "origin" in self.fields:
            self.fields["origin"].choices = [("", "请选择")] + [
                (value, label) for value, label in Origin.choices if value != Origin.CALL
            ]
        self.fields["lead_department"] = OrgChoiceField(
            label="省级牵头联系部门",
            queryset=lead_department_choices(user),
            error_messages={"required": "请选择省级牵头联系部门。"},
        )
        for name in ("field", "kind"):
            self.fields[name].choices = [("", "请选择"), *self.fields[name].choices[1:]]
        self.fields["lead_department"].empty_label = "请选择"
        # Units no longer in use are not named anew; those a saved pilot names stay valid.
        for name in ("regions", "participating_units"):
            keep = (
                Q(pk__in=getattr(self.instance, name).values("pk"))
                if self.instance.pk
                else Q(pk__in=[])
            )
            units = self.fields[name]
            units.queryset = units.queryset.filter(Q(is_active=True) | keep)
        for name in ("approval_authority", "approval_doc_number", "approval_date"):
            if name in self.fields:
                self.fields[name].required = True
        for name in self.draft_optional:
            self.fields[name].required = False
        default_required = forms.Field.default_error_messages["required"]
        for field in self.fields.values():
            if field.error_messages.get("required") == default_required:
                field.error_messages = {**field.error_messages, "required": "此项为必填项。"}
        self.fields[
            "plan_attachment"
        ].help_text = f"PDF、DOCX 或 XLSX，不超过 {settings.UPLOAD_MAX_BYTES // (1024 * 1024)} MB。"

    def clean_plan_attachment(self):
        upload = self.cleaned_data.get("plan_attachment")
        if upload and hasattr(upload, "content_type"):
            validate_attachment(upload)
        return upload

    def clean(self):
        cleaned = super().clean()
        for name in ("start_date", "end_date", "approval_date"):
            day = cleaned.get(name)
            # The rules add years and months to these dates: keep them to dates a person means.
            if day is not None and not 2000 <= day.year <= 2100:
                self.add_error(name, "日期须在2000年至2100年之间。")
        start, end = cleaned.get("start_date"), cleaned.get("end_date")
        kind = cleaned.get("kind")
        if start and end and kind:
            try:
                rules.validate_term(kind=kind, start=start, end=end, milestone_dates=[])
            except ValidationError as exc:
                for name, messages in exc.message_dict.items():
                    if name == "__all__":
                        continue  # milestone checks run with the milestone formset
                    for message in messages:
                        self.add_error(name if name in self.fields else None, message)
        return cleaned

    def domain_data(self) -> dict:
        data = {
            name: self.cleaned_data[name]
            for name in self._meta.fields
            if name not in ("regions", "participating_units") and name in self.cleaned_data
        }
        if not data.get("plan_attachment"):
            data.pop("plan_attachment", None)
        return data


class ApplicationForm(PilotForm):
    """《生态环保领域改革试点申报表》: what a county or prefecture bureau proposes in a call.
    A draft may be saved incomplete; the entry elements (R1.1) are checked on submission."""

    draft_optional = (
        "goal",
        "scope",
        "responsible_body",
        "measures",
        "expected_outcomes",
        "implementing_body",
    )

    class Meta(PilotForm.Meta):
        fields = [*APPLICATION_FIELDS, "plan_attachment"]
        labels = {"lead_department": "建议牵头联系部门"}

    def __init__(self, *args, user, call=None, **kwargs):
        super().__init__(*args, user=user, **kwargs)
        self.fields["lead_department"].label = "建议牵头联系部门"
        self.fields["lead_department"].queryset = Organisation.objects.filter(
            kind__in=[OrgKind.DEPARTMENT, OrgKind.DIVISION], is_active=True
        ).order_by("kind", "sort_order", "code")
        self.fields["plan_attachment"].label = "试点方案（草案）"
        regions = self.fields["regions"]
        org = user.organisation
        if org is not None and org.kind == OrgKind.COUNTY:
            regions.queryset = regions.queryset.filter(pk=org.pk)
            regions.initial = [org.pk]
        elif org is not None and org.kind == OrgKind.PREFECTURE:
            regions.queryset = regions.queryset.filter(Q(pk=org.pk) | Q(parent=org))
        if call is not None and call.fields:
            self.fields["field"].choices = [("", "请选择")] + [
                (v, label) for v, label in ReformField.choices if v in call.fields
            ]


class CallForm(forms.Form):
    title = forms.CharField(label="批次名称", max_length=200)
    fields_covered = forms.MultipleChoiceField(
        label="申报领域",
        choices=ReformField.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="不选表示全部领域。",
    )
    deadline = forms.DateTimeField(
        label="报送截止时间",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d"],
        error_messages={"invalid": "请输入有效的日期时间。", "required": "请填写报送截止时间。"},
    )
    prefecture_quota = forms.IntegerField(
        label="每个设区市推荐名额",
        min_value=1,
        max_value=50,
        error_messages={"min_value": "推荐名额至少为1。", "invalid": "请输入整数。"},
    )
    description = forms.CharField(
        label="申报说明", required=False, widget=forms.Textarea(attrs={"rows": 4})
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["prefecture_quota"].initial = settings.CALL_DEFAULT_PREFECTURE_QUOTA
        self.fields["title"].error_messages["required"] = "请填写批次名称。"


class ChecklistForm(forms.Form):
    """R1.1: the entry screening, one yes/no with a note per criterion."""

    YES_NO = [("yes", "符合"), ("no", "不符合")]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for key, label in SCREENING_CRITERIA:
            self.fields[f"ck_{key}"] = forms.ChoiceField(
                label=label,
                choices=self.YES_NO,
                widget=forms.RadioSelect,
                error_messages={"required": "请逐项填写准入审查。"},
            )
            self.fields[f"ck_{key}_note"] = forms.CharField(
                label="说明", required=False, max_length=500
            )

    def rows(self):
        return [(self[f"ck_{key}"], self[f"ck_{key}_note"]) for key, _ in SCREENING_CRITERIA]

    def answers(self) -> dict:
        return {
            key: {
                "ok": self.cleaned_data[f"ck_{key}"] == "yes",
                "note": self.cleaned_data.get(f"ck_{key}_note", ""),
            }
            for key, _ in SCREENING_CRITERIA
        }


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label="意见/理由",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": "请填写意见或理由。"},
    )


class DepartmentOpinionForm(ReasonForm):
    agree = forms.ChoiceField(
        label="把关意见",
        choices=[("yes", "同意"), ("no", "不同意")],
        widget=forms.RadioSelect,
        error_messages={"required": "请选择同意或不同意。"},
    )


class ApprovalForm(forms.Form):
    authority = forms.CharField(label="批复机关", max_length=100, initial="浙江省生态环境厅")
    doc_number = forms.CharField(label="批复文号", max_length=50, validators=[validate_doc_number])
    approval_date = forms.DateField(
        label="批复日期",
        widget=DATE_WIDGET,
        error_messages={"invalid": "请输入有效日期。", "required": "请填写批复日期。"},
    )
    reason = forms.CharField(
        label="审定意见", required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )


class OverlapVerdictForm(forms.Form):
    field_order = OVERLAP_VERDICT_FIELDS

    verdict = forms.ChoiceField(
        label="判定",
        choices=[c for c in OverlapVerdict.choices if c[0] != OverlapVerdict.PENDING],
        widget=forms.RadioSelect,
        error_messages={"required": "请选择判定结果。"},
    )
    note = forms.CharField(label="说明", required=False, max_length=500)


class MilestoneForm(forms.Form):
    due_date = forms.DateField(label="节点日期", widget=DATE_WIDGET, required=False)
    title = forms.CharField(label="阶段目标", max_length=200, required=False)
    reached_on = forms.DateField(label="完成日期", widget=DATE_WIDGET, required=False)

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("title") and not cleaned.get("due_date"):
            self.add_error("due_date", "请填写节点日期。")
        if cleaned.get("due_date") and not cleaned.get("title"):
            self.add_error("title", "请填写阶段目标。")
        return cleaned


MilestoneFormSet = forms.formset_factory(MilestoneForm, extra=3, max_num=30, validate_max=True)


def milestones_from(formset) -> list[MilestoneData]:
    return [
        MilestoneData(
            f.cleaned_data["due_date"], f.cleaned_data["title"], f.cleaned_data.get("reached_on")
        )
        for f in formset.forms
        if f.cleaned_data.get("due_date") and f.cleaned_data.get("title")
    ]


class PilotFilterForm(forms.Form):
    """The pilot list's filters; every field optional, bad values ignored with a message."""

    q = forms.CharField(label="搜索", required=False, max_length=100)
    status = forms.ChoiceField(
        label="状态", required=False, choices=[("", "全部状态"), *Status.choices]
    )
    field = forms.ChoiceField(
        label="改革领域", required=False, choices=[("", "全部领域"), *ReformField.choices]
    )
    tier = forms.ChoiceField(
        label="管理层级", required=False, choices=[("", "全部层级"), *Tier.choices]
    )
    kind = forms.ChoiceField(
        label="类型", required=False, choices=[("", "全部类型"), *PilotKind.choices]
    )
    prefecture = forms.ModelChoiceField(
        label="设区市",
        required=False,
        queryset=Organisation.objects.filter(kind=OrgKind.PREFECTURE).order_by(
            "sort_order", "code"
        ),
        empty_label="全部设区市",
        to_field_name="code",
    )
    lead = forms.ModelChoiceField(
        label="牵头部门",
        required=False,
        queryset=Organisation.objects.filter(
            kind__in=[OrgKind.DEPARTMENT, OrgKind.DIVISION]
        ).order_by("kind", "sort_order", "code"),
        empty_label="全部牵头部门",
        to_field_name="code",
    )
    overdue = forms.BooleanField(label="仅看有逾期事项的", required=False)

    def filter(self, qs):
        data = self.cleaned_data
        if data.get("overdue"):
            from pilots.selectors import open_overdue_exists

            qs = qs.filter(open_overdue_exists())
        if data.get("q"):
            term = data["q"].strip()
            qs = qs.filter(Q(code__icontains=term) | Q(name__icontains=term))
        if data.get("status"):
            qs = qs.filter(status=data["status"])
        if data.get("field"):
            qs = qs.filter(field=data["field"])
        if data.get("tier"):
            qs = qs.filter(origin__in=rules.origins_of_tier(data["tier"]))
        if data.get("kind"):
            qs = qs.filter(kind=data["kind"])
        if data.get("prefecture"):
            pref = data["prefecture"]
            qs = qs.in_region(
                Organisation.objects.filter(Q(pk=pref.pk) | Q(parent=pref)).values("pk")
            )
        if data.get("lead"):
            lead = data["lead"]
            qs = qs.filter(Q(lead_department=lead) | Q(lead_department__parent=lead))
        return qs
