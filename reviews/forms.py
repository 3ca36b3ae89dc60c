"""Forms of the reviews app: a scorecard (indicators in rows, veto and deny-excellent items one
per line) and an evaluation scored against one."""

from __future__ import annotations

from decimal import Decimal

from django import forms

from core.dates import YEAR_MAX, YEAR_MIN
from core.forms import ProductForm, mark_required, prepare_field
from pilots.constants import EvaluatorType
from pilots.forms import DATE_WIDGET
from reviews import scoring
from reviews.constants import (
    PUBLIC_FIELDS,
    EvaluationStage,
    IndicatorKind,
    RecognitionKind,
    ScoringMethod,
    StabilityLevel,
)
from reviews.models import Recognition

LINES = forms.Textarea(attrs={"rows": 3})

# The fields of a record as its page's form takes them, declared once: the forms below and the
# API's serializers of these records (api.serializers) take their fields from these.
# An evaluation's fixed fields; the scorecard adds one field per indicator and the criteria.
EVALUATION_FIELDS = ("stage", "evaluator", "third_party", "evaluated_on", "effort")
INSPECTION_FIELDS = ("inspected_on", "inspectors", "subject", "findings")


# One message for a value out of its range, whichever end it misses.
SCORE_RANGE = {"min_value": "应在0至100之间。", "max_value": "应在0至100之间。"}


def _threshold(label: str, initial: int) -> forms.DecimalField:
    return forms.DecimalField(
        label=label,
        min_value=0,
        max_value=100,
        initial=initial,
        error_messages={
            "min_value": "分数线应在0至100之间。",
            "max_value": "分数线应在0至100之间。",
        },
    )


class ScorecardForm(ProductForm, forms.Form):
    name = forms.CharField(label="评分表名称", max_length=200)
    effort_share = forms.DecimalField(label="工作推进、创新与成效占比（%）", initial=25)
    five_stars = _threshold("五星分数线", 90)
    four_stars = _threshold("四星分数线", 80)
    three_stars = _threshold("三星分数线", 70)
    vetoes = forms.CharField(
        label="否决项", required=False, widget=LINES, help_text="每行一项；触及即取消评星。"
    )
    denials = forms.CharField(
        label="否优项", required=False, widget=LINES, help_text="每行一项；触及即不评为五星。"
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # R3.2: the limit is a setting; the help text states the one in force.
        limit = scoring.max_effort_share()
        field = self.fields["effort_share"]
        field.initial = min(Decimal(25), limit)
        field.help_text = f"0至{limit}%（第三条第（二）项评分规则：不超过{limit}%）。"
        field.error_messages["invalid"] = "请输入数字。"
        field.error_messages["required"] = "请填写工作推进、创新与成效占比。"

    def clean(self):
        cleaned = super().clean()
        five, four, three = (cleaned.get(k) for k in ("five_stars", "four_stars", "three_stars"))
        if None not in (five, four, three) and not five > four > three > 0:
            self.add_error("three_stars", "分数线应为五星 > 四星 > 三星 > 0。")
        return cleaned

    def clean_effort_share(self):
        share = self.cleaned_data["effort_share"]
        problem = scoring.check_effort_share(share)
        if problem:
            raise forms.ValidationError(problem)
        return share

    def criteria(self) -> list[dict]:
        rows = []
        for kind, name in (("veto", "vetoes"), ("deny_excellent", "denials")):
            for line in self.cleaned_data.get(name, "").splitlines():
                if line.strip():
                    rows.append({"kind": kind, "text": line.strip()[:300]})
        return rows


class IndicatorForm(ProductForm, forms.Form):
    title = forms.CharField(label="指标", max_length=200, required=False)
    kind = forms.ChoiceField(label="类别", choices=IndicatorKind.choices, required=False)
    method = forms.ChoiceField(label="评分方式", choices=ScoringMethod.choices, required=False)
    weight = forms.DecimalField(
        label="权重",
        min_value=Decimal("0.01"),
        max_digits=6,
        decimal_places=2,
        required=False,
        error_messages={"min_value": "权重应大于0。"},
    )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("title") and cleaned.get("weight") is None and "weight" not in self.errors:
            self.add_error("weight", "请填写权重。")
        return cleaned


# Rows are added and removed on the page (static/js/forms.js); without script the eight empty
# rows remain.
IndicatorFormSet = forms.formset_factory(IndicatorForm, extra=8, max_num=40, validate_max=True)


def indicators_from(formset) -> list[dict]:
    return [f.cleaned_data for f in formset.forms if f.cleaned_data.get("title")]


class EvaluationForm(ProductForm, forms.Form):
    """The evaluation of one pilot against `scorecard`: a field per indicator (a number for
    completion, a level for stability) and a checkbox per veto or deny-excellent item."""

    field_order = EVALUATION_FIELDS

    stage = forms.ChoiceField(label="评估类型", choices=EvaluationStage.choices)
    evaluator = forms.ChoiceField(
        label="评估方式", choices=EvaluatorType.choices, widget=forms.RadioSelect
    )
    third_party = forms.CharField(
        label="第三方评估机构", max_length=200, required=False, help_text="委托第三方评估时必填。"
    )
    evaluated_on = forms.DateField(label="评估日期", widget=DATE_WIDGET)
    effort = forms.DecimalField(
        label="工作推进、创新与成效得分（0–100）",
        min_value=0,
        max_value=100,
        decimal_places=2,
        error_messages=SCORE_RANGE,
    )

    def __init__(self, *args, scorecard, **kwargs):
        super().__init__(*args, **kwargs)
        self.scorecard = scorecard
        self.indicators = list(scorecard.indicators.all())
        for indicator in self.indicators:
            label = (
                f"{indicator.number}. {indicator.title}"
                f"（{indicator.get_kind_display()}，权重{indicator.weight}）"
            )
            if indicator.method == ScoringMethod.STABILITY:
                field = forms.TypedChoiceField(
                    label=label,
                    choices=[("", "请选择"), *StabilityLevel.choices],
                    coerce=int,
                    help_text="稳定度：按机制建设等级评分。",
                )
            else:
                # One message, the scoring rule's own, whichever end the value misses.
                rule = "完成度指标按目标完成比例评分，应在0至100之间。"
                field = forms.DecimalField(
                    label=label,
                    min_value=0,
                    max_value=100,
                    decimal_places=2,
                    help_text="完成度：年度目标完成比例（0–100）。",
                    error_messages={"min_value": rule, "max_value": rule},
                )
            self.fields[f"ind_{indicator.pk}"] = field
            prepare_field(field)
        self.criteria = list(scorecard.criteria.all())
        self.fields["criteria"] = forms.MultipleChoiceField(
            label="触及的否决项、否优项",
            required=False,
            widget=forms.CheckboxSelectMultiple,
            choices=[(str(c.pk), str(c)) for c in self.criteria],
        )
        prepare_field(self.fields["criteria"])

    def indicator_fields(self):
        return [self[f"ind_{i.pk}"] for i in self.indicators]

    def values(self) -> dict[int, object]:
        return {i.pk: self.cleaned_data.get(f"ind_{i.pk}") for i in self.indicators}

    def criteria_hit(self) -> list[int]:
        return [int(pk) for pk in self.cleaned_data.get("criteria", [])]


class PromotionReportForm(forms.Form):
    text = forms.CharField(label="复制推广情况", widget=forms.Textarea(attrs={"rows": 4}))
    adopted_by = forms.CharField(label="已推广到的地区或单位", max_length=500, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["text"].error_messages["required"] = "请填写复制推广情况。"


class RecognitionForm(forms.Form):
    kind = forms.ChoiceField(label="认定类别", choices=RecognitionKind.choices)
    summary = forms.CharField(label="经验做法（可公开）", widget=forms.Textarea(attrs={"rows": 4}))
    document = forms.CharField(
        label="形成的制度成果",
        max_length=300,
        required=False,
        help_text="法规或规范性文件名称和文号。",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["summary"].error_messages["required"] = "请填写可公开的经验做法。"


class ListDraftForm(forms.Form):
    title = forms.CharField(label="清单名称", max_length=200)
    fields = forms.MultipleChoiceField(
        label="公开字段",
        choices=PUBLIC_FIELDS,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        initial=["regions", "lead_department", "summary", "document"],
        help_text="试点名称和认定类别总会公开；其余只公开勾选的字段。",
    )
    recognitions = forms.ModelMultipleChoiceField(
        label="列入的试点",
        queryset=Recognition.objects.none(),
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        qs = Recognition.objects.filter(is_withdrawn=False).select_related("pilot")
        self.fields["recognitions"].queryset = qs.order_by("kind", "pilot__code")
        self.fields["recognitions"].initial = list(qs.values_list("pk", flat=True))
        self.fields["title"].error_messages["required"] = "请填写清单名称。"
        self.fields["recognitions"].error_messages["required"] = "请至少选择一项认定的试点。"


class InspectionForm(forms.Form):
    field_order = INSPECTION_FIELDS

    inspected_on = forms.DateField(label="督察日期", widget=DATE_WIDGET)
    inspectors = forms.CharField(label="督察人员", max_length=300)
    subject = forms.CharField(
        label="督察对象",
        max_length=200,
        required=False,
        help_text="督察推广的做法时填写；空白即试点本身。",
    )
    findings = forms.CharField(label="发现的问题", widget=forms.Textarea(attrs={"rows": 4}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.error_messages["required"] = f"请填写{field.label}。"
        self.fields["inspected_on"].error_messages["invalid"] = "请输入有效日期。"


class DemandForm(forms.Form):
    text = forms.CharField(
        label="整改要求", required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    due_date = forms.DateField(label="整改期限", required=False, widget=DATE_WIDGET)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["due_date"].error_messages["invalid"] = "请输入有效日期。"


DemandFormSet = forms.formset_factory(DemandForm, extra=3, max_num=20, validate_max=True)


class BonusForm(forms.Form):
    year = forms.IntegerField(label="考核年度", min_value=YEAR_MIN, max_value=YEAR_MAX)
    organisation = forms.ModelChoiceField(label="单位", queryset=None, empty_label="请选择单位")
    pilot = forms.CharField(label="试点编号", max_length=20, required=False)
    points = forms.DecimalField(label="加分", max_digits=5, decimal_places=2)
    reason = forms.CharField(label="理由", max_length=300)

    def __init__(self, *args, **kwargs):
        from accounts.models import Organisation

        super().__init__(*args, **kwargs)
        self.fields["organisation"].queryset = Organisation.objects.order_by(
            "kind", "sort_order", "code"
        )
        for field in self.fields.values():
            field.error_messages["required"] = f"请填写{field.label}。"

    def clean_pilot(self):
        from pilots.models import Pilot

        code = self.cleaned_data.get("pilot", "").strip()
        if not code:
            return None
        pilot = Pilot.objects.filter(code=code).first()
        if pilot is None:
            raise forms.ValidationError("没有该编号的试点。")
        return pilot


class AssignExpertsForm(forms.Form):
    experts = forms.ModelMultipleChoiceField(
        label="评审专家", queryset=None, widget=forms.CheckboxSelectMultiple
    )
    due_date = forms.DateField(label="评审期限", widget=DATE_WIDGET)

    def __init__(self, *args, **kwargs):
        from accounts.constants import Role
        from accounts.models import User

        super().__init__(*args, **kwargs)
        self.fields["experts"].queryset = (
            User.objects.filter(role=Role.EXPERT, is_active=True)
            .select_related("organisation", "organisation__parent")
            .order_by("organisation__name", "display_name", "username")
        )
        # People appear by name and unit, never by their account.
        self.fields["experts"].label_from_instance = lambda u: u.display_with_unit()
        self.fields["experts"].error_messages["required"] = "请至少选择一位评审专家。"
        self.fields["due_date"].error_messages["required"] = "请填写评审期限。"
        self.fields["due_date"].error_messages["invalid"] = "请输入有效日期。"


class ExpertReviewForm(ProductForm, forms.Form):
    """An expert's scores, one field per criterion (score_0, score_1, …), and the opinion.
    reviews.expert.submit_review checks them all at once (ranges, the opinion and its
    length) and its messages land beside these fields; what was typed stays in the form
    after an error."""

    def __init__(self, *args, criteria=(), **kwargs):
        from reviews.expert import OPINION_MAX_LENGTH

        kwargs.setdefault("auto_id", "%s")  # the page's fields keep their ids: score_0, opinion
        super().__init__(*args, **kwargs)
        for index, criterion in enumerate(criteria):
            self.fields[f"score_{index}"] = forms.CharField(
                label=f"{criterion['title']}（0–{criterion['max']}分）",
                required=False,
                widget=forms.NumberInput(attrs={"min": 0, "max": criterion["max"], "step": 0.5}),
            )
        self.fields["opinion"] = forms.CharField(
            label="评审意见",
            required=False,
            max_length=OPINION_MAX_LENGTH,
            widget=forms.Textarea(attrs={"rows": 5}),
        )
        for field in self.fields.values():
            prepare_field(field)
            mark_required(field)
