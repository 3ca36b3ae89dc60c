from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from simple_history.admin import SimpleHistoryAdmin

from accounts.models import AuditEvent, Organisation, User


@admin.register(Organisation)
class OrganisationAdmin(SimpleHistoryAdmin):
    list_display = ("code", "name", "short_name", "kind", "parent", "is_active")
    list_filter = ("kind", "is_active")
    search_fields = ("code", "name", "short_name")
    list_select_related = ("parent",)

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(User)
class RegistryUserAdmin(SimpleHistoryAdmin, UserAdmin):
    list_display = ("username", "display_name", "organisation", "role", "is_active", "is_staff")
    list_filter = ("role", "is_active", "is_staff")
    list_select_related = ("organisation",)
    fieldsets = (
        *UserAdmin.fieldsets,
        ("所属单位与角色", {"fields": ("organisation", "role", "display_name", "phone")}),
    )


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only for everyone: the log is only appended to, by the product itself."""

    list_display = ("at", "username", "action", "summary", "ip", "path")
    list_filter = ("action",)
    search_fields = ("username", "summary", "ip", "object_id")
    date_hierarchy = "at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        return request.user.is_superuser
