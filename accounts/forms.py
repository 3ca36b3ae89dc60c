from django import forms
from django.contrib.auth.forms import (
    AuthenticationForm,
    PasswordChangeForm,
    PasswordResetForm,
    SetPasswordForm,
)

from accounts.constants import Role
from accounts.models import Organisation, User
from core.forms import ProductForm, prepare_field
from core.validators import REASON_MAX_LENGTH, validate_phone


class LoginForm(AuthenticationForm):
    username = forms.CharField(label="用户名", max_length=150)
    password = forms.CharField(label="密码", strip=False, widget=forms.PasswordInput)

    error_messages = {
        "invalid_login": "用户名或密码不正确，请重新输入。",
        "inactive": "该账号已停用，请联系省办。",
    }


# --- password change and reset --------------------------------------------------------------


class ChinesePasswordChangeForm(PasswordChangeForm):
    error_messages = {
        "password_mismatch": "两次输入的新密码不一致。",
        "password_incorrect": "原密码不正确，请重新输入。",
    }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["old_password"].label = "原密码"
        self.fields["new_password1"].label = "新密码"
        self.fields["new_password1"].help_text = _PASSWORD_HELP
        self.fields["new_password2"].label = "再次输入新密码"


class ChineseSetPasswordForm(SetPasswordForm):
    error_messages = {"password_mismatch": "两次输入的新密码不一致。"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["new_password1"].label = "新密码"
        self.fields["new_password1"].help_text = _PASSWORD_HELP
        self.fields["new_password2"].label = "再次输入新密码"


class ChinesePasswordResetForm(PasswordResetForm):
    email = forms.EmailField(
        label="登记的电子邮箱",
        max_length=254,
        error_messages={"required": "请填写电子邮箱。", "invalid": "电子邮箱格式不正确。"},
    )

    def get_users(self, email):
        # An account whose password the office reset has no usable password; it must still
        # be able to ask for a new link (Django's default skips such accounts).
        matching = User.objects.filter(email__iexact=email, is_active=True)
        return (u for u in matching if (u.email or "").casefold() == email.casefold())

    def send_mail(self, subject_template_name, email_template_name, context, *args, **kwargs):
        from accounts.users import send_reset_email

        send_reset_email(context["user"])


_PASSWORD_HELP = (
    "至少10个字符，包含大写字母、小写字母、数字、符号中的三类，不能是常见密码或与账号相似。"
)


# --- user management (the office) -----------------------------------------------------------


def _organisation_field() -> forms.ModelChoiceField:
    return forms.ModelChoiceField(
        label="所属单位",
        queryset=Organisation.objects.filter(is_active=True).order_by("kind", "sort_order", "code"),
        empty_label="请选择单位",
        error_messages={
            "required": "请选择所属单位。",
            "invalid_choice": "所选单位不存在或已停用。",
        },
    )


class UserProfileForm(ProductForm, forms.Form):
    """Unit, role, name and contact details; the domain function checks the rest."""

    display_name = forms.CharField(
        label="姓名", max_length=50, error_messages={"required": "请填写姓名。"}
    )
    email = forms.EmailField(
        label="电子邮箱", required=False, error_messages={"invalid": "电子邮箱格式不正确。"}
    )
    phone = forms.CharField(
        label="联系电话", max_length=30, required=False, validators=[validate_phone]
    )
    role = forms.ChoiceField(label="角色", error_messages={"required": "请选择角色。"})
    reason = forms.CharField(label="修改原因", max_length=REASON_MAX_LENGTH, required=False)

    def __init__(self, *args, actor, **kwargs):
        from accounts.users import assignable_roles

        super().__init__(*args, **kwargs)
        self.fields["organisation"] = _organisation_field()
        prepare_field(self.fields["organisation"])
        self.fields["role"].choices = [("", "请选择角色"), *assignable_roles(actor)]
        self.fields["role"].error_messages["invalid_choice"] = (
            "只有系统管理员可以授予系统管理员或安全审计员角色。"
        )
        self.order_fields(["display_name", "organisation", "role", "email", "phone", "reason"])


class UserCreateForm(UserProfileForm):
    username = forms.CharField(
        label="账号", max_length=150, error_messages={"required": "请填写账号。"}
    )
    password_mode = forms.ChoiceField(
        label="初始密码",
        choices=[("email", "发送邮件，由本人设置密码"), ("set", "由省办设置初始密码")],
        initial="email",
        widget=forms.RadioSelect,
    )
    password = forms.CharField(
        label="初始密码",
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_PASSWORD_HELP,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        del self.fields["reason"]
        self.order_fields(["username", "display_name", "organisation", "role", "email", "phone"])


class UserFilterForm(forms.Form):
    q = forms.CharField(label="搜索", required=False, max_length=100)
    unit = forms.ModelChoiceField(
        label="单位",
        required=False,
        queryset=Organisation.objects.order_by("kind", "sort_order", "code"),
        empty_label="全部单位",
    )
    role = forms.ChoiceField(
        label="角色", required=False, choices=[("", "全部角色"), *Role.choices]
    )
    active = forms.ChoiceField(
        label="状态",
        required=False,
        choices=[("", "全部"), ("1", "启用"), ("0", "已停用")],
    )
