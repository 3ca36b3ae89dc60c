"""The office's admin for pilots. Status changes only through the workflow, never here."""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from core.admin import HistoryAdmin, ReadOnlyMixin
from pilots import policy, services
from pilots.models import (
    AcceptanceReport,
    ClosureReport,
    ExtensionRequest,
    Milestone,
    OverdueEvent,
    Pilot,
    Reminder,
)
from pilots.search import search_pilots


class MilestoneInline(admin.TabularInline):
    model = Milestone
    extra = 0
    fields = ("due_date", "title", "reached_on", "is_removed")
    can_delete = False


@admin.register(Pilot)
class PilotAdmin(HistoryAdmin):
    list_display = (
        "code",
        "name",
        "field",
        "kind",
        "origin",
        "status",
        "lead_department",
        "end_date",
    )
    list_filter = ("status", "field", "kind", "origin")
    search_fields = ("code", "name")
    list_select_related = ("lead_department",)
    readonly_fields = (
        "code",
        "status",
        "applicant",
        "created_at",
        "updated_at",
        # Set by purge_expired and restore_pilot only (R2.4).
        "purged_on",
        "purge_reason",
        "status_before_purge",
        "restored_on",
        # Files go through the pages, whose upload checks refuse hostile content; private
        # files have no public address: the plan opens through the pilot's access gate.
        "plan_file",
    )
    exclude = ("plan_attachment",)
    autocomplete_fields = ("lead_department",)
    filter_horizontal = ("regions", "participating_units")
    inlines = [MilestoneInline]

    def get_queryset(self, request):
        # The access policy decides here too: a staff account sees only what it may see.
        return super().get_queryset(request).restrict(request.user)

    def get_search_results(self, request, queryset, search_term):
        # The pilot list's own search (pilots.search), served by the same indexes.
        return search_pilots(queryset, search_term), False

    @admin.display(description="试点方案")
    def plan_file(self, obj):
        if not obj.plan_attachment:
            return "—"
        url = reverse("pilots:plan", args=[obj.code])
        return format_html('<a href="{}">{}</a>', url, obj.plan_attachment.name.rsplit("/")[-1])

    def has_change_permission(self, request, obj=None):
        if obj is not None and not policy.can(request.user, obj, policy.Act.CHANGE):
            return False
        return super().has_change_permission(request, obj)

    def has_add_permission(self, request):
        # New pilots come from applications or the direct-entry page (R2.2), which run the
        # term and entry checks and hand out codes.
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        data = {
            name: form.cleaned_data[name] for name in form.changed_data if name in form.cleaned_data
        }
        m2m = {k: data.pop(k) for k in ("regions", "participating_units") if k in data}
        services.update_pilot(
            actor=request.user, pilot=obj, data=data, reason="管理后台修改", **m2m
        )

    def save_related(self, request, form, formsets, change):
        # Relations were saved by update_pilot; only the milestone inline remains.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)


class ReadOnlyAdmin(ReadOnlyMixin, HistoryAdmin):
    def get_queryset(self, request):
        # Records of a pilot are visible exactly when the pilot is (the access policy).
        return policy.related_to_visible(super().get_queryset(request), request.user)


@admin.register(ClosureReport, ExtensionRequest)
class TermRequestAdmin(ReadOnlyAdmin):
    list_display = ("pilot", "status", "organisation", "submitted_at", "decided_at")
    list_filter = ("status",)
    search_fields = ("pilot__code", "pilot__name")
    list_select_related = ("pilot", "organisation")


@admin.register(AcceptanceReport)
class AcceptanceReportAdmin(ReadOnlyAdmin):
    list_display = ("pilot", "version", "is_current", "evaluator", "due_date", "days_late")
    list_filter = ("evaluator", "is_current")
    search_fields = ("pilot__code", "pilot__name")
    list_select_related = ("pilot",)


@admin.register(OverdueEvent)
class OverdueEventAdmin(ReadOnlyAdmin):
    list_display = ("label", "kind", "organisation", "due_date", "flagged_on", "resolved_on")
    list_filter = ("kind", "resolved_on")
    search_fields = ("label",)
    list_select_related = ("organisation",)


# End-of-term records, overdue events and reminders change only through pilots.term and
# pilots.jobs (which check who may act and write history); the admin reads them.
@admin.register(Reminder)
class ReminderAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("label", "kind", "organisation", "due_date", "days_before", "sent_on")
