from django.apps import AppConfig


class DemoConfig(AppConfig):
    """Demo data and generators: they use the domain apps, which know nothing of them."""

    name = "demo"
    verbose_name = "演示数据"
