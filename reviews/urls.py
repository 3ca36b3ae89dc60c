from django.urls import path

from reviews import views

app_name = "reviews"

urlpatterns = [
    path("scorecards/", views.scorecard_list, name="scorecards"),
    path("scorecards/new/", views.scorecard_create, name="scorecard_create"),
    path("scorecards/<int:pk>/", views.scorecard_detail, name="scorecard"),
    path("pilots/<str:code>/evaluate/", views.evaluation_create, name="evaluate"),
    path("evaluations/<int:pk>/", views.evaluation_detail, name="evaluation"),
    path("evaluations/<int:pk>/report.pdf", views.evaluation_pdf, name="evaluation_pdf"),
]
