"""Authentication of API requests: a personal token in the Authorization header, or the
session of a signed-in user (then with CSRF protection, as for the pages)."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from accounts.tokens import user_for_key


class ApiTokenAuthentication(authentication.BaseAuthentication):
    keywords = ("Token", "Bearer")

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].decode(errors="replace") not in self.keywords:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(
                "令牌格式不正确：应为“Authorization: Token 令牌”。"
            )
        try:
            key = header[1].decode()
        except UnicodeDecodeError as exc:
            raise exceptions.AuthenticationFailed("令牌含有无效字符。") from exc
        user = user_for_key(key)
        if user is None:
            raise exceptions.AuthenticationFailed("令牌无效、已过期、已吊销或账号已停用。")
        return user, key

    def authenticate_header(self, request) -> str:
        return 'Token realm="api"'


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = ApiTokenAuthentication
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "个人访问令牌，在“个人信息”页面生成：`Token rpr_…`",
        }
