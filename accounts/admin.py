from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.core.exceptions import ValidationError

from accounts.models import AuditEvent, Organisation, User
from accounts.users import assignable_roles, clean_profile
from core.admin import HistoryAdmin, viewing_version


@admin.register(Organisation)
class OrganisationAdmin(HistoryAdmin):
    list_display = ("code", "name", "short_name", "kind", "parent", "is_active")
    list_filter = ("kind", "is_active")
    search_fields = ("code", "name", "short_name")
    list_select_related = ("parent",)

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(User)
class RegistryUserAdmin(HistoryAdmin, UserAdmin):
    list_display = ("username", "display_name", "organisation", "role", "is_active", "is_staff")
    list_filter = ("role", "is_active", "is_staff")
    list_select_related = ("organisation",)
    fieldsets = (
        *UserAdmin.fieldsets,
        ("所属单位与角色", {"fields": ("organisation", "role", "display_name", "phone")}),
    )

    # Only a superuser grants rights. For anyone else these are shown, never taken from the
    # form: a forged POST value is ignored (and User.save refuses it on every other path).
    RIGHTS_FIELDS = ("is_superuser", "is_staff", "groups", "user_permissions")

    def get_readonly_fields(self, request, obj=None):
        # Dates the product records itself: a form round-trip would rewrite them (seconds lost)
        # and log a change nobody made.
        fields = [*super().get_readonly_fields(request, obj), "last_login", "date_joined"]
        if not request.user.is_superuser:
            fields += [f for f in self.RIGHTS_FIELDS if f not in fields]
        return fields

    def has_change_permission(self, request, obj=None):
        # A privileged account (superuser, administrator, auditor) is changed by superusers
        # only: otherwise its e-mail or password would be a way into it.
        if obj is not None and obj.is_privileged and not request.user.is_superuser:
            return False
        return super().has_change_permission(request, obj)

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None or (
            self.has_change_permission(request, obj) and not viewing_version(request)
        ):
            return fieldsets
        # Read only: the password's "reset" button would open a page this user may not open
        # (or, on an earlier version's page, a relative address under it).
        return [
            (name, {**options, "fields": [f for f in options["fields"] if f != "password"]})
            for name, options in fieldsets
        ]

    PROFILE_FIELDS = ("display_name", "email", "phone", "organisation", "role")

    def get_form(self, request, obj=None, change=False, **kwargs):
        """An account's change form checks its profile as the product's user pages do (a unit
        of the right kind for its role, a name, a valid phone): one rule, in accounts.users. A
        superuser's own account (`createsuperuser` gives it no unit) is left as it is."""
        form = super().get_form(request, obj, change=change, **kwargs)
        if obj is None or obj.is_superuser:
            return form
        fields, actor = self.PROFILE_FIELDS, request.user

        class ProfileCheckedForm(form):
            def clean(self):
                cleaned = super().clean()
                data = {name: cleaned.get(name, getattr(self.instance, name)) for name in fields}
                try:
                    clean_profile(actor=actor, username=None, **data)
                except ValidationError as exc:
                    for name, messages in exc.message_dict.items():
                        self.add_error(name if name in self.fields else None, messages)
                return cleaned

        return ProfileCheckedForm

    def formfield_for_choice_field(self, db_field, request, **kwargs):
        if db_field.name == "role" and not request.user.is_superuser:
            kwargs["choices"] = [("", "---------"), *assignable_roles(request.user)]
        return super().formfield_for_choice_field(db_field, request, **kwargs)

    def has_delete_permission(self, request, obj=None):
        return False  # accounts are deactivated, never deleted


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
