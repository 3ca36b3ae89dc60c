from django.contrib.auth import views as auth_views
from django.urls import path

from accounts import notification_views, profile_views
from accounts.forms import LoginForm

urlpatterns = [
    path(
        "login/",
        auth_views.LoginView.as_view(
            template_name="accounts/login.html",
            authentication_form=LoginForm,
            redirect_authenticated_user=True,
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("profile/", profile_views.profile, name="profile"),
    path("profile/tokens/", profile_views.token_create, name="token_create"),
    path("profile/tokens/<int:pk>/revoke/", profile_views.token_revoke, name="token_revoke"),
    path("notifications/", notification_views.notification_list, name="notifications"),
    path("notifications/read/", notification_views.notifications_read, name="notifications_read"),
]
