from django.urls import path

from reviews import bonus_views, expert_views, views
from reviews import promotion_views as promo
from reviews import supervision_views as sup

app_name = "reviews"

urlpatterns = [
    path("scorecards/", views.scorecard_list, name="scorecards"),
    path("scorecards/new/", views.scorecard_create, name="scorecard_create"),
    path("scorecards/<int:pk>/", views.scorecard_detail, name="scorecard"),
    path("pilots/<str:code>/evaluate/", views.evaluation_create, name="evaluate"),
    path("evaluations/<int:pk>/", views.evaluation_detail, name="evaluation"),
    path("pilots/<str:code>/promotion/", promo.promotion_report, name="promotion_report"),
    path("pilots/<str:code>/recognise/", promo.recognise, name="recognise"),
    path("promotion/", promo.promotion_page, name="promotion"),
    path("bonus/", bonus_views.bonus_page, name="bonus"),
    path("pilots/<str:code>/experts/", expert_views.assign, name="experts"),
    path("expert/", expert_views.my_reviews, name="my_reviews"),
    path("expert/<int:pk>/", expert_views.review, name="expert_review"),
    path("pilots/<str:code>/inspect/", sup.inspection_create, name="inspect"),
    path("rectifications/<int:pk>/report/", sup.rectification_report, name="rectification_report"),
    path("rectifications/<int:pk>/close/", sup.rectification_close, name="rectification_close"),
    path("lists/<int:pk>/", promo.list_detail, name="list"),
    path("lists/<int:pk>/publish/", promo.list_publish, name="list_publish"),
    path("evaluations/<int:pk>/report.pdf", views.evaluation_pdf, name="evaluation_pdf"),
]
