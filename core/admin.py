"""The admin of the shared machinery: the scheduled jobs' run log, read-only."""

from django.contrib import admin

from core.models import JobRun


class ReadOnlyMixin:
    """For records that change only through their domain functions or jobs (which check who
    may act and write history): the admin reads them."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(JobRun)
class JobRunAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("job", "today", "status", "started_at", "finished_at", "queries", "counts")
    list_filter = ("job", "status")
