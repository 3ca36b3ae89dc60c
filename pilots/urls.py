from django.urls import path

from pilots import application_views as apps
from pilots import job_views, overdue_views, views
from pilots import term_views as term

app_name = "pilots"

urlpatterns = [
    path("", views.pilot_list, name="list"),
    path("new/", views.pilot_create, name="create"),
    path("calls/", apps.call_list, name="call_list"),
    path("calls/new/", apps.call_create, name="call_create"),
    path("calls/<int:pk>/", apps.call_detail, name="call_detail"),
    path("calls/<int:pk>/apply/", apps.application_create, name="apply"),
    path("calls/<int:pk>/export.xlsx", apps.call_export, name="call_export"),
    path("overdue/", overdue_views.overdue_list, name="overdue"),
    path("overdue/export.xlsx", overdue_views.overdue_export, name="overdue_export"),
    path("purged/", overdue_views.purged_list, name="purged"),
    path("term/", overdue_views.term_queue, name="term_queue"),
    path("jobs/", job_views.job_list, name="jobs"),
    path("closures/<int:pk>/decide/", term.closure_decide, name="closure_decide"),
    path("extensions/<int:pk>/decide/", term.extension_decide, name="extension_decide"),
    path("term-files/<str:kind>/<int:pk>/", term.term_attachment, name="term_attachment"),
    path("<str:code>/", views.pilot_detail, name="detail"),
    path("<str:code>/history/", views.pilot_history, name="history"),
    path("<str:code>/edit/", views.pilot_edit, name="edit"),
    path("<str:code>/plan/", views.pilot_plan, name="plan"),
    path("<str:code>/submit/", apps.application_submit, name="submit"),
    path("<str:code>/withdraw/", apps.application_withdraw, name="withdraw"),
    path("<str:code>/screen/", apps.application_screen, name="screen"),
    path("<str:code>/overlap/<int:flag_id>/", apps.overlap_verdict, name="overlap_verdict"),
    path("<str:code>/closure/", term.closure_create, name="closure"),
    path("<str:code>/extension/", term.extension_create, name="extension"),
    path("<str:code>/acceptance/", term.acceptance_create, name="acceptance"),
    path("<str:code>/restore/", term.restore, name="restore"),
    path("<str:code>/application.pdf", apps.application_pdf, name="application_pdf"),
]
