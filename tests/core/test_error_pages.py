"""The product's own 400, 403, 404 and 500 pages, in Chinese with a way back, with DEBUG on
(the default of `make run`) and off; Django's technical pages only when asked for."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.http import Http404
from django.test import Client
from django.urls import path

from config.urls import urlpatterns as product_urls


def _boom(request):
    raise RuntimeError("故意的错误")


def _suspicious(request):
    raise SuspiciousOperation("forged")


def _denied(request):
    raise PermissionDenied("只有省办可以进行此操作。")


def _missing(request):
    raise Http404("no such pilot")


urlpatterns = [
    path("test-errors/500/", _boom),
    path("test-errors/400/", _suspicious),
    path("test-errors/403/", _denied),
    path("test-errors/404/", _missing),
    *product_urls,
]
handler400 = "core.error_pages.bad_request"
handler403 = "core.error_pages.permission_denied"
handler404 = "core.error_pages.page_not_found"
handler500 = "core.error_pages.server_error"

TITLES = {
    400: "请求无效（400）",
    403: "无权操作（403）",
    404: "未找到（404）",
    500: "系统出现错误（500）",
}
ADDRESSES = {
    400: "/test-errors/400/",
    403: "/test-errors/403/",
    404: "/test-errors/404/",
    500: "/test-errors/500/",
}
ENGLISH = ("Traceback", "Page not found", "DEBUG = True", "Server Error", "Bad Request")


@pytest.fixture
def browser_client(db):
    return Client(raise_request_exception=False)


def _assert_product_page(response, status: int) -> str:
    assert response.status_code == status
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assert TITLES[status] in html
    assert '<html lang="zh-Hans">' in html
    assert ">返回首页</a>" in html
    for word in ENGLISH:
        assert word not in html, word
    return html


@pytest.mark.urls(__name__)
@pytest.mark.parametrize("debug", [True, False], ids=["debug", "production"])
@pytest.mark.parametrize("status", [400, 403, 404, 500])
def test_error_pages_are_the_products_own(browser_client, settings, status, debug):
    settings.DEBUG = debug
    settings.DEBUG_ERROR_PAGES = False
    response = browser_client.get(ADDRESSES[status])
    _assert_product_page(response, status)


@pytest.mark.parametrize("debug", [True, False], ids=["debug", "production"])
def test_an_unknown_address_answers_the_404_page(client_for, settings, debug):
    settings.DEBUG = debug
    client = client_for("county")
    html = _assert_product_page(client.get("/no-such-page/"), 404)
    # signed in, the page keeps the persona's navigation
    assert 'aria-label="主导航"' in html


@pytest.mark.urls(__name__)
def test_the_way_back_is_the_previous_page_of_this_site_only(browser_client, settings):
    settings.DEBUG = False
    html = _assert_product_page(
        browser_client.get(
            "/test-errors/404/",
            HTTP_REFERER="http://testserver/pilots/?q=1",
            HTTP_HOST="testserver",
        ),
        404,
    )
    assert '<a class="btn" href="/pilots/?q=1">返回上一页</a>' in html
    for elsewhere in ("https://evil.example/pilots/", "javascript:alert(1)", "//evil.example/"):
        html = browser_client.get("/test-errors/404/", HTTP_REFERER=elsewhere).content.decode()
        assert "返回上一页" not in html
    html = browser_client.get("/test-errors/500/", HTTP_REFERER="http://testserver/ledger/")
    assert '<a class="btn" href="/ledger/">返回上一页</a>' in html.content.decode()


@pytest.mark.urls(__name__)
def test_the_403_page_says_why(browser_client, settings):
    settings.DEBUG = True
    html = _assert_product_page(browser_client.get("/test-errors/403/"), 403)
    assert "只有省办可以进行此操作。" in html


@pytest.mark.urls(__name__)
def test_a_developer_may_ask_for_djangos_technical_pages(browser_client, settings):
    settings.DEBUG = True
    settings.DEBUG_ERROR_PAGES = True
    response = browser_client.get("/test-errors/500/")
    assert response.status_code == 500
    assert "RuntimeError" in response.content.decode()
    assert "Page not found" in browser_client.get("/no-such-page/").content.decode()
    # never without DEBUG
    settings.DEBUG = False
    _assert_product_page(browser_client.get("/test-errors/500/"), 500)


@pytest.mark.urls(__name__)
def test_the_replaced_page_keeps_the_security_headers(browser_client, settings):
    settings.DEBUG = True
    response = browser_client.get("/test-errors/500/")
    _assert_product_page(response, 500)
    assert "default-src 'self'" in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"


def test_a_form_from_an_expired_page_answers_the_403_page(client_for, settings):
    settings.DEBUG = True
    client = client_for("county")
    client.handler.enforce_csrf_checks = True
    html = _assert_product_page(client.post("/accounts/notifications/read/"), 403)
    assert "页面已过期" in html
