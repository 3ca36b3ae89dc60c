"""The signed-in user: who they are, and their organisation's notifications."""

from __future__ import annotations

import django_filters
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Notification
from accounts.notify import mark_read, notices_for
from api.serializers.account import MeSerializer, NotificationSerializer, ReadSerializer
from api.views.common import ChineseMixin, ReadOnly
from pilots import policy


class NotificationFilter(django_filters.FilterSet):
    unread = django_filters.BooleanFilter(
        field_name="read_at", lookup_expr="isnull", label="仅看未读"
    )

    class Meta:
        model = Notification
        fields = ["unread"]


@extend_schema_view(
    list=extend_schema(summary="本单位通知"), retrieve=extend_schema(summary="通知")
)
class NotificationViewSet(ReadOnly):
    queryset = Notification.objects.none()  # for the schema; get_queryset gives the user's
    serializer_class = NotificationSerializer
    filterset_class = NotificationFilter
    ordering_fields = ["id", "created_at"]

    def get_queryset(self):
        return notices_for(self.request.user).order_by("-created_at", "-pk")

    @extend_schema(request=None, responses={200: ReadSerializer}, summary="标记为已读")
    @action(detail=True, methods=["post"])
    def read(self, request, pk=None):
        notice: Notification = self.get_object()
        return Response({"marked": mark_read(request.user, notice.pk)})

    @extend_schema(request=None, responses={200: ReadSerializer}, summary="全部标记为已读")
    @action(detail=False, methods=["post"], url_path="read-all")
    def read_all(self, request):
        return Response({"marked": mark_read(request.user)})


class MeView(ChineseMixin, APIView):
    @extend_schema(responses={200: MeSerializer}, summary="当前用户")
    def get(self, request):
        user = request.user
        return Response(
            MeSerializer(
                {
                    "username": user.username,
                    "display_name": user.display_name,
                    "role": policy.role_of(user) or "",
                    "organisation": user.organisation,
                }
            ).data
        )
