"""The admin of the shared machinery: the scheduled jobs' run log, read-only; the base of the
admins that show a record's versions."""

from django.contrib import admin
from django.core.exceptions import ValidationError
from django.http import Http404
from simple_history.admin import SimpleHistoryAdmin

from core.models import JobRun


class HistoryAdmin(SimpleHistoryAdmin):
    """simple-history's admin (the 历史 page and each version's page), where a version's page
    answers 404 to an address whose record or version is not a number, on which simple-history
    would fail with a 500: a hand-made address, or a relative link of the change form (the
    user's "../password/") resolved under a version's page to `…/history/password/`."""

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        try:
            self.model._meta.pk.to_python(object_id)
        except ValidationError as exc:
            raise Http404("没有这条记录。") from exc
        if not str(version_id).isdigit():
            raise Http404("没有这个历史版本。")
        request.viewing_version = True
        return super().history_form_view(request, object_id, version_id, extra_context)


def viewing_version(request) -> bool:
    """Whether the admin is showing one of a record's earlier versions (read, not edited)."""
    return getattr(request, "viewing_version", False)


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
