"""Changing one's password, and resetting a forgotten one through an e-mailed link.

Django's views with Chinese forms and templates. Every change is audited by `User.save`
(accounts/users.py), and a reset request here, without the secret or the link."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import reverse_lazy

from accounts.audit import record
from accounts.constants import AuditAction
from accounts.forms import (
    ChinesePasswordChangeForm,
    ChinesePasswordResetForm,
    ChineseSetPasswordForm,
)


class _BadInputIs400:
    """A form sent back with errors answers 400, as everywhere in the product."""

    def form_invalid(self, form):
        return self.render_to_response(self.get_context_data(form=form), status=400)


class PasswordChange(_BadInputIs400, auth_views.PasswordChangeView):
    form_class = ChinesePasswordChangeForm
    template_name = "registration/change_password.html"
    success_url = reverse_lazy("password_change_done")


class PasswordChangeDone(auth_views.PasswordChangeDoneView):
    template_name = "registration/change_password_done.html"


class PasswordReset(_BadInputIs400, auth_views.PasswordResetView):
    form_class = ChinesePasswordResetForm
    template_name = "registration/reset_request.html"
    success_url = reverse_lazy("password_reset_done")

    def form_valid(self, form):
        # The same answer whether or not the address is registered: no account enumeration.
        record(
            AuditAction.PASSWORD,
            f"申请通过邮件重置密码（填写的邮箱：{form.cleaned_data['email'][:100]}）",
            request=self.request,
        )
        return super().form_valid(form)


class PasswordResetDone(auth_views.PasswordResetDoneView):
    template_name = "registration/reset_sent.html"


class PasswordResetConfirm(_BadInputIs400, auth_views.PasswordResetConfirmView):
    form_class = ChineseSetPasswordForm
    template_name = "registration/reset_confirm.html"
    success_url = reverse_lazy("password_reset_complete")


class PasswordResetComplete(auth_views.PasswordResetCompleteView):
    template_name = "registration/reset_complete.html"
