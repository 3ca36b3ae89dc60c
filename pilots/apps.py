from django.apps import AppConfig


class PilotsConfig(AppConfig):
    name = "pilots"
    verbose_name = "改革试点"

    def ready(self) -> None:
        from accounts.notification_views import LINK_GUARDS
        from pilots.policy import hide_links_to_unseen_pilots

        if hide_links_to_unseen_pilots not in LINK_GUARDS:
            LINK_GUARDS.append(hide_links_to_unseen_pilots)
