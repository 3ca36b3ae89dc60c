from django.contrib import admin
from django.urls import include, path

from accounts import audit_views
from accounts import views as account_views
from dashboards import home as home_views
from pilots import calendar_views

admin.site.site_header = "改革试点台账 · 管理后台"
admin.site.site_title = "改革试点台账"
admin.site.index_title = "数据管理"

# The product's own error pages, in Chinese, with a way back (core.error_pages).
handler400 = "core.error_pages.bad_request"
handler403 = "core.error_pages.permission_denied"
handler404 = "core.error_pages.page_not_found"
handler500 = "core.error_pages.server_error"

urlpatterns = [
    path("", home_views.home, name="home"),
    path("rules/", home_views.rules_page, name="rules"),
    path("healthz/", account_views.healthz, name="healthz"),
    path("audit/", audit_views.audit_log, name="audit_log"),
    path("calendar/", calendar_views.month_view, name="calendar"),
    path("calendar/token/", calendar_views.feed_token, name="calendar_token"),
    path("calendar/feed/<str:token>.ics", calendar_views.feed, name="calendar_feed"),
    path("dashboard/", include("dashboards.urls")),
    path("api/", include("api.urls")),
    path("accounts/", include("accounts.urls")),
    path("pilots/", include("pilots.urls")),
    path("ledger/", include("ledger.urls")),
    path("reviews/", include("reviews.urls")),
    path("public/", include("reviews.public_urls")),
    path("admin/", admin.site.urls),
]
