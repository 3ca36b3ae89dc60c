from django.apps import AppConfig


class ReviewsConfig(AppConfig):
    name = "reviews"
    verbose_name = "评估与推广"

    def ready(self) -> None:
        from pilots.calendar import WORK_PAGES
        from pilots.constants import DeadlineKind
        from pilots.deadlines import register_source
        from reviews import deadlines, panels

        register_source(DeadlineKind.RECTIFICATION, deadlines.rectification)
        register_source(DeadlineKind.EXPERT_REVIEW, deadlines.expert_review)

        # An expert meets a review deadline on its review list, not on the pilot's page.
        WORK_PAGES[DeadlineKind.EXPERT_REVIEW] = "reviews:my_reviews"
        panels.register()
