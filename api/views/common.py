"""What every resource's views share: Chinese answers, the list filters, the records of the
pilots a user sees, and the actions on one pilot (/pilots/{code}/…)."""

from __future__ import annotations

import django_filters
from django.conf import settings
from django.utils import translation
from drf_spectacular.utils import extend_schema
from rest_framework import filters, viewsets
from rest_framework.exceptions import ValidationError

from api.serializers.pilots import PilotDetailSerializer
from pilots import policy
from pilots.models import Pilot
from pilots.search import QUERY_MAX_LENGTH, QUERY_TOO_LONG

CODE = r"[A-Za-z0-9-]{1,20}"
ID = r"[0-9]{1,9}"
PILOT_ACTIONS = "试点工作流"


class SafeSearchFilter(filters.SearchFilter):
    """Search terms are text typed by a person: refuse control characters clearly."""

    def get_search_terms(self, request):
        value = request.query_params.get(self.search_param, "")
        if "\x00" in value or len(value) > QUERY_MAX_LENGTH:
            raise ValidationError({self.search_param: [f"{QUERY_TOO_LONG}，且不能含控制字符。"]})
        return super().get_search_terms(request)


class ChineseMixin:
    """Answers in Chinese whatever language the client asks for."""

    def initialize_request(self, request, *args, **kwargs):
        translation.activate(settings.LANGUAGE_CODE)
        return super().initialize_request(request, *args, **kwargs)


class ReadOnly(ChineseMixin, viewsets.ReadOnlyModelViewSet):
    lookup_value_regex = ID
    filter_backends = [
        django_filters.rest_framework.DjangoFilterBackend,
        filters.OrderingFilter,
        SafeSearchFilter,
    ]


def validated(serializer_class, request, **kwargs) -> dict:
    """The request body checked by `serializer_class` (400 with its errors otherwise)."""
    serializer = serializer_class(data=request.data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class PilotRecords(ReadOnly):
    """Records belonging to pilots: visible when their pilot is."""

    model = None
    related = ("pilot",)
    ordering_fields = ["id"]

    def get_queryset(self):
        return (
            self.model.objects.filter(
                pilot__in=policy.visible_pilots(self.request.user).values("pk")
            )
            .select_related(*self.related)
            .order_by("-pk")
        )


def record_action(serializer, response, summary: str):
    """The schema of an action on a record: `serializer` in, `response` out."""
    return extend_schema(request=serializer, responses={200: response}, summary=summary)


def pilot_action(serializer=None, summary: str = "", status_code: int = 200, response=None):
    """The schema of an action on one pilot: `serializer` in, the pilot (or `response`) out."""
    return extend_schema(
        request=serializer,
        responses={status_code: response or PilotDetailSerializer},
        summary=summary,
        tags=[PILOT_ACTIONS],
    )


class OnePilot:
    """Actions on one pilot (/pilots/{code}/…), mixed into the pilots' viewset: the pilot
    named in the address, as the user may see it (404 otherwise)."""

    def _pilot(self) -> Pilot:
        return policy.get_pilot_for(self.request.user, self.kwargs["code"])
