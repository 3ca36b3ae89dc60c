from django.apps import AppConfig


class ReviewsConfig(AppConfig):
    name = "reviews"
    verbose_name = "评估与推广"

    def ready(self) -> None:
        from pilots.calendar import WORK_PAGES
        from pilots.constants import DeadlineKind

        # An expert meets a review deadline on its review list, not on the pilot's page.
        WORK_PAGES[DeadlineKind.EXPERT_REVIEW] = "reviews:my_reviews"
