"""Forms for pilots entered directly by their lead department (R2.2) and for filtering lists."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.db.models import Q

from accounts.constants import OrgKind
from accounts.models import Organisation, region_filter
from core.dates import YEAR_MAX, YEAR_MIN
from core.forms import ProductForm, add_domain_errors, mark_required, prepare_field
from pilots import calls, rules, services
from pilots.calls import call_errors
from pilots.constants import (
    SCREENING_CRITERIA,
    Origin,
    OverlapVerdict,
    PilotKind,
    ReformField,
    Status,
    Tier,
)
from pilots.form_fields import (
    SEARCHABLE,
    LeadDepartmentField,
    OrgMultipleChoiceField,
    lead_department_choices,
)
from pilots.models import Pilot
from pilots.search import QUERY_MAX_LENGTH, QUERY_TOO_LONG, search_pilots
from pilots.services import MilestoneData
from pilots.uploads import validate_attachment
from pilots.validators import validate_doc_number

DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


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


class PilotForm(ProductForm, forms.ModelForm):
    """The six entry elements (R1.1), term (R1.2), origin (R2.1) and approval (R2.2), for
    pilots a lead department enters directly. Its own checks and the domain's (R1.1, R1.2 with
    the milestones) run together, so every error shows at once beside its field."""

    # Fields the form lets a draft leave empty; submission requires them (marked with *).
    draft_optional: tuple[str, ...] = ()
    # Set by the view from the milestone formset before validation (see validate_with).
    milestone_dates: list = []

    regions = OrgMultipleChoiceField(
        label="试点地区",
        # Only this province's places: not the sample plan's units of another province.
        queryset=Organisation.objects.filter(region_filter())
        .select_related("parent")
        .order_by("kind", "sort_order", "code"),
        required=True,
        widget=forms.SelectMultiple(attrs={"size": 8, **SEARCHABLE}),
        error_messages={"required": "请选择至少一个试点地区。"},
    )
    participating_units = OrgMultipleChoiceField(
        label="参加单位",
        queryset=Organisation.objects.filter(
            kind__in=[OrgKind.DEPARTMENT, OrgKind.DIVISION, OrgKind.PREFECTURE]
        ).select_related("parent"),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 6, **SEARCHABLE}),
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
        self.user = user
        self.milestone_errors: list[str] = []
        super().__init__(*args, **kwargs)
        if "origin" in self.fields:
            self.fields["origin"].choices = [("", "请选择")] + [
                (value, label) for value, label in Origin.choices if value != Origin.CALL
            ]
        lead = LeadDepartmentField(
            label="省级牵头联系部门",
            queryset=lead_department_choices(user),
            error_messages={"required": "请选择省级牵头联系部门。"},
            widget=forms.Select(attrs=dict(SEARCHABLE)),
        )
        lead.grouped()
        self.fields["lead_department"] = lead
        for name in ("field", "kind"):
            self.fields[name].choices = [("", "请选择"), *self.fields[name].choices[1:]]
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
        for field in self.fields.values():
            prepare_field(field)
        for name in self.draft_optional:
            self.fields[name].required = False
            mark_required(self.fields[name])
        self.fields[
            "plan_attachment"
        ].help_text = f"PDF、DOCX 或 XLSX，不超过 {settings.UPLOAD_MAX_BYTES // (1024 * 1024)} MB。"

    def clean_plan_attachment(self):
        upload = self.cleaned_data.get("plan_attachment")
        if upload and hasattr(upload, "content_type"):
            validate_attachment(upload)
        return upload

    def checks_entry(self) -> bool:
        """Whether R1.1 (every entry element stated) is checked now: always for a pilot
        entered directly; on submission for an application."""
        return True

    def clean(self):
        cleaned = super().clean()
        for name in ("start_date", "end_date", "approval_date"):
            day = cleaned.get(name)
            # The rules add years and months to these dates: keep them to dates a person means.
            if day is not None and not YEAR_MIN <= day.year <= YEAR_MAX:
                self.add_error(name, f"日期须在{YEAR_MIN}年至{YEAR_MAX}年之间。")
                cleaned.pop(name, None)
        entry = self.checks_entry()
        if entry:
            elements = dict(rules.ENTRY_ELEMENTS)  # named with their clause by entry_errors
            for name in self.draft_optional:
                if name not in elements and name not in self.errors and not cleaned.get(name):
                    self.add_error(name, self.fields[name].error_messages["required"])
        errors = services.entry_errors(
            {**cleaned, "kind": cleaned.get("kind") or ""},
            milestone_dates=self.milestone_dates,
            draft=not entry,
        )
        self.milestone_errors = errors.pop("__all__", [])
        add_domain_errors(self, errors)
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


def validate_with(form, formset) -> bool:
    """Validate a pilot form and its milestone formset together: the milestones' dates reach
    the form's term check (R1.2) and its milestone errors show beside the milestone rows."""
    rows_ok = formset.is_valid()
    form.milestone_dates = [
        f.cleaned_data["due_date"]
        for f in formset.forms
        if getattr(f, "cleaned_data", None) and f.cleaned_data.get("due_date")
    ]
    form_ok = form.is_valid()
    if form.milestone_errors:
        formset.non_form_errors().extend(form.milestone_errors)
    return form_ok and rows_ok and not form.milestone_errors


class ApplicationForm(PilotForm):
    """《生态环保领域改革试点申报表》: what a county or prefecture bureau proposes in a call.
    A draft saves whatever is filled in, even nothing; on submission (`submitting`) every
    required field and the entry elements (R1.1) are checked at once."""

    draft_optional = (*services.DRAFT_OPTIONAL, "regions")

    class Meta(PilotForm.Meta):
        fields = [*APPLICATION_FIELDS, "plan_attachment"]
        labels = {"lead_department": "建议牵头联系部门"}

    def __init__(self, *args, user, call=None, submitting=False, **kwargs):
        self.submitting = submitting
        super().__init__(*args, user=user, **kwargs)
        lead = self.fields["lead_department"]
        lead.label = "建议牵头联系部门"
        lead.queryset = Organisation.objects.filter(
            kind__in=[OrgKind.DEPARTMENT, OrgKind.DIVISION], is_active=True
        ).order_by("kind", "sort_order", "code")
        lead.grouped()
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

    def checks_entry(self) -> bool:
        return self.submitting


class CallForm(ProductForm, forms.Form):
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
        error_messages={
            "min_value": "推荐名额至少为1。",
            "max_value": "推荐名额不超过50。",
            "invalid": "请输入整数。",
        },
    )
    # 申报说明: a notice's worth of text (2,000 字).
    description = forms.CharField(
        label="申报说明",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["prefecture_quota"].initial = settings.CALL_DEFAULT_PREFECTURE_QUOTA
        self.fields["title"].error_messages["required"] = "请填写批次名称。"

    def clean(self):
        cleaned = super().clean()
        errors = call_errors(
            title=cleaned.get("title", ""),
            deadline=cleaned.get("deadline"),
            fields=cleaned.get("fields_covered", []),
            prefecture_quota=cleaned.get("prefecture_quota"),
        )
        if "fields" in errors:
            errors["fields_covered"] = errors.pop("fields")
        add_domain_errors(self, errors)
        return cleaned


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


# An opinion or a reason is a paragraph: 1,000 字, as the domain functions check it.
OPINION_MAX = calls.OPINION_MAX


class ReasonForm(ProductForm, forms.Form):
    reason = forms.CharField(
        label="意见/理由",
        max_length=OPINION_MAX,
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


class ApprovalForm(ProductForm, forms.Form):
    authority = forms.CharField(label="批复机关", max_length=100, initial="浙江省生态环境厅")
    doc_number = forms.CharField(label="批复文号", max_length=50, validators=[validate_doc_number])
    approval_date = forms.DateField(
        label="批复日期",
        widget=DATE_WIDGET,
        error_messages={"invalid": "请输入有效日期。", "required": "请填写批复日期。"},
    )
    reason = forms.CharField(
        label="审定意见",
        required=False,
        max_length=OPINION_MAX,
        widget=forms.Textarea(attrs={"rows": 2}),
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


class MilestoneForm(ProductForm, forms.Form):
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


# Rows are added and removed on the page (static/js/forms.js); without script the three empty
# rows remain for new milestones.
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

    q = forms.CharField(
        label="搜索",
        required=False,
        max_length=QUERY_MAX_LENGTH,
        error_messages={"max_length": QUERY_TOO_LONG},
    )
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
            qs = search_pilots(qs, data["q"])
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
