"""Reference data: the organisations taking part."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_view

from accounts.models import Organisation
from api.serializers.reference import OrganisationSerializer
from api.views.common import ReadOnly


@extend_schema_view(list=extend_schema(summary="单位名录"), retrieve=extend_schema(summary="单位"))
class OrganisationViewSet(ReadOnly):
    """Every organisation taking part: the office, departments, prefectures, counties."""

    queryset = Organisation.objects.select_related("parent").order_by("kind", "sort_order", "code")
    serializer_class = OrganisationSerializer
    lookup_field = "code"
    lookup_value_regex = r"[A-Za-z0-9_-]{1,64}"
    filterset_fields = ["kind", "is_active"]
    search_fields = ["code", "name", "short_name"]
    ordering_fields = ["code", "name", "sort_order"]
