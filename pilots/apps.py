from django.apps import AppConfig


class PilotsConfig(AppConfig):
    name = "pilots"
    verbose_name = "改革试点"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from accounts.notification_views import LINK_GUARDS
        from pilots.policy import hide_links_to_unseen_pilots

        if hide_links_to_unseen_pilots not in LINK_GUARDS:
            LINK_GUARDS.append(hide_links_to_unseen_pilots)
        # The jobs' beat schedules, declared once in config/schedule.py, after every migrate.
        post_migrate.connect(_install_schedules, sender=self, dispatch_uid="pilots-schedules")


def _install_schedules(sender, using="default", **kwargs) -> None:
    from config.schedule import install_schedules

    install_schedules()
