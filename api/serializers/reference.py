"""Reference data: the organisations taking part."""

from __future__ import annotations

from rest_framework import serializers

from accounts.models import Organisation
from api.serializers.common import ORG


class OrganisationSerializer(serializers.ModelSerializer):
    parent = serializers.SlugRelatedField(**ORG)
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)

    class Meta:
        model = Organisation
        fields = ["code", "name", "short_name", "kind", "kind_display", "parent", "is_active"]
