from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from simple_history.admin import SimpleHistoryAdmin

from accounts.models import Organisation, User


@admin.register(Organisation)
class OrganisationAdmin(SimpleHistoryAdmin):
    list_display = ("code", "name", "short_name", "kind", "parent", "is_active")
    list_filter = ("kind", "is_active")
    search_fields = ("code", "name", "short_name")
    list_select_related = ("parent",)

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(User)
class RegistryUserAdmin(UserAdmin):
    list_display = ("username", "display_name", "organisation", "role", "is_active", "is_staff")
    list_filter = ("role", "is_active", "is_staff")
    list_select_related = ("organisation",)
    fieldsets = (
        *UserAdmin.fieldsets,
        ("所属单位与角色", {"fields": ("organisation", "role", "display_name", "phone")}),
    )
