"""Reviews of pilots (R3.2, R3.3): evaluations and inspections, read-only."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_view

from api.serializers.reviews import EvaluationSerializer, InspectionSerializer
from api.views.common import PilotRecords
from reviews.models import Evaluation, Inspection


@extend_schema_view(
    list=extend_schema(summary="评估（R3.2）"), retrieve=extend_schema(summary="评估")
)
class EvaluationViewSet(PilotRecords):
    model = Evaluation
    related = ("pilot", "organisation", "scorecard")
    serializer_class = EvaluationSerializer
    filterset_fields = ["stage", "rating", "pilot__code"]
    ordering_fields = ["id", "evaluated_on", "score"]


@extend_schema_view(
    list=extend_schema(summary="督察记录（R3.3）"), retrieve=extend_schema(summary="督察记录")
)
class InspectionViewSet(PilotRecords):
    model = Inspection
    serializer_class = InspectionSerializer
    filterset_fields = ["pilot__code"]
    ordering_fields = ["id", "inspected_on"]

    def get_queryset(self):
        return super().get_queryset().prefetch_related("rectifications__organisation")
