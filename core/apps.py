from django.apps import AppConfig


class CoreConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "core"
    verbose_name = "请求入口校验"

    def ready(self) -> None:
        from core import guards

        guards.install()
