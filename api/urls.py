from csp.decorators import csp_update
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from api import views

router = DefaultRouter()
# JSON only: no ".json" suffix variants of every route.
router.include_format_suffixes = False
router.register("organisations", views.OrganisationViewSet, basename="organisation")
router.register("calls", views.CallViewSet, basename="call")
router.register("pilots", views.PilotViewSet, basename="pilot")
router.register("filings", views.FilingViewSet, basename="filing")
router.register("quarterly-reports", views.QuarterlyReportViewSet, basename="quarterly-report")
router.register("half-year-summaries", views.SummaryViewSet, basename="half-year-summary")
router.register("closures", views.ClosureViewSet, basename="closure")
router.register("extensions", views.ExtensionViewSet, basename="extension")
router.register("acceptance-reports", views.AcceptanceViewSet, basename="acceptance-report")
router.register("evaluations", views.EvaluationViewSet, basename="evaluation")
router.register("inspections", views.InspectionViewSet, basename="inspection")
router.register("notifications", views.NotificationViewSet, basename="notification")

app_name = "api"
urlpatterns = [
    path("v1/me/", views.MeView.as_view(), name="me"),
    path("v1/", include(router.urls)),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
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
