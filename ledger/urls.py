from django.urls import path

from ledger import filing_views, import_views, views

app_name = "ledger"

urlpatterns = [
    path("", views.ledger_list, name="list"),
    path("export.xlsx", views.ledger_export, name="export"),
    path("todo/", views.todo, name="todo"),
    path("filings/", filing_views.filing_list, name="filings"),
    path("filings/<int:pk>/", filing_views.filing_detail, name="filing_detail"),
    path("filings/<int:pk>/decide/", filing_views.filing_decide, name="filing_decide"),
    path("filings/<int:pk>/plan/", filing_views.filing_plan, name="filing_plan"),
    path("pilots/<str:code>/file/", filing_views.filing_create, name="file"),
    path("pilots/<str:code>/reports/", views.pilot_reports, name="pilot_reports"),
    path(
        "pilots/<str:code>/reports/<int:year>/<int:quarter>/",
        views.report_submit,
        name="report_submit",
    ),
    path("reports/<int:pk>/attachment/", views.report_attachment, name="report_attachment"),
    path("summaries/", views.summary_list, name="summaries"),
    path("summaries/<int:year>/<int:half>/", views.summary_edit, name="summary_edit"),
    path("summaries/view/<int:pk>/", views.summary_detail, name="summary_detail"),
    path("import/", import_views.import_upload, name="import"),
    path("import/plan-sample.xlsx", import_views.import_sample, name="import_sample"),
    path("import/<int:pk>/", import_views.import_batch, name="import_batch"),
    path("import/<int:pk>/apply/", import_views.import_apply, name="import_apply"),
    path("plans/", import_views.plan_list, name="plans"),
    path("plans/<int:pk>/", import_views.plan_detail, name="plan_detail"),
    path("renders/", views.render_list, name="renders"),
    path("renders/<int:pk>/download/", views.render_download, name="render_download"),
]
