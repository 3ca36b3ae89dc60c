"""Fields the pilot forms share: organisations by name, the lead department grouped with its
divisions, and the searchable-select opt-in (static/js/forms.js)."""

from __future__ import annotations

from django import forms
from django.db.models import Q

from accounts.constants import OrgKind
from accounts.models import Organisation
from pilots.policy import is_office

SEARCHABLE = {"data-searchable": "1"}


class OrgChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Organisation) -> str:
        return obj.name


class LeadDepartmentField(OrgChoiceField):
    """A lead department, its divisions grouped under it (<optgroup>): each department is the
    group's first choice, its divisions follow."""

    def grouped(self) -> None:
        units = list(self.queryset.select_related("parent"))
        chosen = {u.pk for u in units}
        groups: dict[int, tuple[str, list]] = {}
        for unit in units:
            if unit.kind == OrgKind.DEPARTMENT:
                groups.setdefault(unit.pk, (unit.name, []))[1].insert(0, (unit.pk, unit.name))
        for unit in units:
            if unit.kind != OrgKind.DEPARTMENT:
                parent = unit.parent if unit.parent_id in chosen else None
                key = parent.pk if parent else -unit.pk
                label = parent.name if parent else unit.name
                groups.setdefault(key, (label, []))[1].append((unit.pk, unit.name))
        self.choices = [("", "请选择"), *groups.values()]


class OrgMultipleChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Organisation) -> str:
        if obj.kind == OrgKind.COUNTY and obj.parent_id:
            return f"{obj.parent.short_name} · {obj.short_name}"
        return obj.short_name


def lead_department_choices(user):
    qs = Organisation.objects.filter(
        kind__in=[OrgKind.DEPARTMENT, OrgKind.DIVISION], is_active=True
    ).order_by("kind", "sort_order", "code")
    if not is_office(user) and user.organisation_id:
        org = user.organisation
        qs = qs.filter(Q(pk=org.pk) | Q(parent=org))
    return qs
