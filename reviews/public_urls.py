"""The public page: the published lists of replicable pilots and demonstration cases."""

from django.urls import path

from reviews import promotion_views as promo

app_name = "public"

urlpatterns = [
    path("", promo.public_index, name="index"),
    path("lists/<int:pk>/", promo.public_list, name="list"),
]
