from csp.decorators import csp_update
from django.urls import include, path
from drf_spectacular.views import SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from api.views.account import MeView, NotificationViewSet
from api.views.calls import CallViewSet
from api.views.ledger import FilingViewSet, QuarterlyReportViewSet, SummaryViewSet
from api.views.pilots import PilotViewSet
from api.views.reference import OrganisationViewSet
from api.views.reviews import EvaluationViewSet, InspectionViewSet
from api.views.schema import SchemaView
from api.views.term import AcceptanceViewSet, ClosureViewSet, ExtensionViewSet

router = DefaultRouter()
# JSON only: no ".json" suffix variants of every route.
router.include_format_suffixes = False
router.register("organisations", OrganisationViewSet, basename="organisation")
router.register("calls", CallViewSet, basename="call")
router.register("pilots", PilotViewSet, basename="pilot")
router.register("filings", FilingViewSet, basename="filing")
router.register("quarterly-reports", QuarterlyReportViewSet, basename="quarterly-report")
router.register("half-year-summaries", SummaryViewSet, basename="half-year-summary")
router.register("closures", ClosureViewSet, basename="closure")
router.register("extensions", ExtensionViewSet, basename="extension")
router.register("acceptance-reports", AcceptanceViewSet, basename="acceptance-report")
router.register("evaluations", EvaluationViewSet, basename="evaluation")
router.register("inspections", InspectionViewSet, basename="inspection")
router.register("notifications", NotificationViewSet, basename="notification")

app_name = "api"
urlpatterns = [
    path("v1/me/", MeView.as_view(), name="me"),
    path("v1/", include(router.urls)),
    path("schema/", SchemaView.as_view(), name="schema"),
    # Swagger UI adds a style element at run time: this page alone allows inline styles (never
    # scripts; its start-up script is a separate file).
    path(
        "docs/",
        csp_update({"style-src": ["'unsafe-inline'"]})(
            SpectacularSwaggerSplitView.as_view(url_name="api:schema")
        ),
        name="docs",
    ),
]
