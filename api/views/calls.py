"""Calls for proposals (N3): listed to everyone, opened by the office. Applications are
drafted in a call through the pilots' endpoint (api.views.pilots)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.response import Response

from api.serializers.calls import CallInputSerializer, CallSerializer
from api.views.common import ReadOnly, validated
from pilots.calls import open_call
from pilots.models import Call


@extend_schema_view(
    list=extend_schema(summary="申报批次"),
    retrieve=extend_schema(summary="申报批次"),
    create=extend_schema(
        summary="省办发布申报批次（N3）",
        request=CallInputSerializer,
        responses={201: CallSerializer},
    ),
)
class CallViewSet(mixins.CreateModelMixin, ReadOnly):
    queryset = Call.objects.filter(is_cancelled=False).order_by("-deadline", "-pk")
    serializer_class = CallSerializer
    search_fields = ["title"]
    ordering_fields = ["deadline", "created_at"]

    def create(self, request, *args, **kwargs):
        data = validated(CallInputSerializer, request)
        call = open_call(
            actor=request.user,
            title=data["title"],
            deadline=data["deadline"],
            fields=data.get("fields", []),
            prefecture_quota=data.get("prefecture_quota"),
            description=data.get("description", ""),
        )
        return Response(CallSerializer(call).data, status=status.HTTP_201_CREATED)
