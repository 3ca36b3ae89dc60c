"""The signed-in user: who they are and their organisation's notifications."""

from __future__ import annotations

from rest_framework import serializers

from accounts.models import Notification
from api.serializers.reference import OrganisationSerializer


class MeSerializer(serializers.Serializer):
    username = serializers.CharField()
    display_name = serializers.CharField()
    role = serializers.CharField()
    organisation = OrganisationSerializer(allow_null=True)


class NotificationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Notification
        fields = ["id", "subject", "body", "url", "created_at", "read_at"]


class ReadSerializer(serializers.Serializer):
    marked = serializers.IntegerField()
