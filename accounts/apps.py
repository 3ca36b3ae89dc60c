from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "组织与用户"

    def ready(self) -> None:
        from django.contrib.auth import signals
        from django.contrib.auth.models import update_last_login

        from accounts import audit, users  # noqa: F401 - users connects the rights guard

        audit.connect_axes()
        # django-axes names its app "Axes" and its records in English: in the admin they are
        # the sign-in lockout (登录锁定); the record names are in locale/.
        from django.apps import apps

        apps.get_app_config("axes").verbose_name = "登录锁定"
        from core.jobnames import register_task_description

        register_task_description(
            "accounts.tasks.send_pending_emails", "补发写入时未能发出的通知邮件"
        )
        # Signing in stamps last_login; that is not a change of the user worth a history row
        # (the sign-in itself is in the audit log).
        signals.user_logged_in.disconnect(update_last_login, dispatch_uid="update_last_login")
        signals.user_logged_in.connect(audit.stamp_last_login, dispatch_uid="stamp_last_login")
