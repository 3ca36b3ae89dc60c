from django.contrib.auth import views as auth_views
from django.urls import path

from accounts import (
    channel_views,
    notification_views,
    password_views,
    profile_views,
    user_views,
)
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
    path("password/change/", password_views.PasswordChange.as_view(), name="password_change"),
    path(
        "password/change/done/",
        password_views.PasswordChangeDone.as_view(),
        name="password_change_done",
    ),
    path("password/reset/", password_views.PasswordReset.as_view(), name="password_reset"),
    path(
        "password/reset/sent/",
        password_views.PasswordResetDone.as_view(),
        name="password_reset_done",
    ),
    path(
        "password/reset/<uidb64>/<token>/",
        password_views.PasswordResetConfirm.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "password/reset/complete/",
        password_views.PasswordResetComplete.as_view(),
        name="password_reset_complete",
    ),
    path("users/", user_views.user_list, name="user_list"),
    path("users/new/", user_views.user_create, name="user_create"),
    path("users/<str:username>/", user_views.user_edit, name="user_edit"),
    path("users/<str:username>/deactivate/", user_views.user_deactivate, name="user_deactivate"),
    path("users/<str:username>/reactivate/", user_views.user_reactivate, name="user_reactivate"),
    path(
        "users/<str:username>/reset-password/",
        user_views.user_force_reset,
        name="user_force_reset",
    ),
    path("notifications/", notification_views.notification_list, name="notifications"),
    path("notifications/read/", notification_views.notifications_read, name="notifications_read"),
    path("profile/email-notices/", channel_views.email_preferences, name="email_preferences"),
    path("channels/", channel_views.channel_list, name="channel_list"),
    path("channels/<slug:org_code>/", channel_views.channel_org, name="channel_org"),
    path("channels/<slug:org_code>/new/", channel_views.channel_create, name="channel_create"),
    path("channels/<int:pk>/edit/", channel_views.channel_edit, name="channel_edit"),
    path("channels/<int:pk>/test/", channel_views.channel_test, name="channel_test"),
    path(
        "channels/<int:pk>/deactivate/",
        channel_views.channel_deactivate,
        name="channel_deactivate",
    ),
    path(
        "channels/<int:pk>/reactivate/",
        channel_views.channel_reactivate,
        name="channel_reactivate",
    ),
]
