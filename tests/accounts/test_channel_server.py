"""A local stand-in for the DingTalk and WeCom group robots, strict about what the platforms
document, and the checks that it is: the product's channel tests (test_channels.py) send
their messages to it.

DingTalk custom robot (加签): POST /robot/send?access_token=T&timestamp=MS&sign=S, where the
timestamp (ms) is within an hour of the server's time and S, url-decoded, equals
base64(HMAC-SHA256(key=secret, msg="{timestamp}\\n{secret}")); the body is JSON
{"msgtype": "markdown", "markdown": {"title": str, "text": str}}. WeCom group robot:
POST /cgi-bin/webhook/send?key=K with {"msgtype": "markdown", "markdown": {"content": str}}
(at most 4096 bytes). Both answer HTTP 200 with {"errcode": 0, "errmsg": "ok"}, or an error
code: more than 20 messages a minute per robot are refused (DingTalk 130101, WeCom 45009).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
import urllib.parse
import urllib.request
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

PER_MINUTE = 20


class RobotServer:
    """Robots registered by token (DingTalk, with its secret) or key (WeCom). `offset` moves
    the server's clock forward (seconds), for a test that waits out a minute."""

    def __init__(self) -> None:
        self.dingtalk: dict[str, str] = {}  # access_token → secret
        self.wecom: set[str] = set()
        self.accepted: list[dict] = []  # {"robot", "body"} of each message shown in a group
        self.refused: list[dict] = []  # {"robot", "errcode"}
        self.offset = 0.0
        self._sent: dict[str, list[float]] = defaultdict(list)
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                status, answer = server.handle(self.path, self.headers, raw)
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    # --- addresses the tests store as webhooks ---

    def add_dingtalk(self, token: str, secret: str) -> str:
        self.dingtalk[token] = secret
        return f"{self.base}/robot/send?access_token={token}"

    def add_wecom(self, key: str) -> str:
        self.wecom.add(key)
        return f"{self.base}/cgi-bin/webhook/send?key={key}"

    def now(self) -> float:
        return time.time() + self.offset

    def messages(self, robot: str) -> list[dict]:
        return [m["body"] for m in self.accepted if m["robot"] == robot]

    # --- the platforms' rules ---

    def handle(self, path: str, headers, raw: bytes) -> tuple[int, dict]:
        parts = urllib.parse.urlsplit(path)
        query = urllib.parse.parse_qs(parts.query)
        if not headers.get("Content-Type", "").startswith("application/json"):
            return 200, {"errcode": 40035, "errmsg": "缺少参数 json"}
        try:
            body = json.loads(raw.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            return 200, {"errcode": 40035, "errmsg": "缺少参数 json"}
        if parts.path == "/robot/send":
            return 200, self._dingtalk(query, body)
        if parts.path == "/cgi-bin/webhook/send":
            return 200, self._wecom(query, body)
        return 404, {"errcode": 404, "errmsg": "not found"}

    def _dingtalk(self, query: dict, body: dict) -> dict:
        token = (query.get("access_token") or [""])[0]
        if token not in self.dingtalk:
            return self._refuse(token, 300001, "token is not exist")
        secret = self.dingtalk[token]
        timestamp = (query.get("timestamp") or [""])[0]
        sign = (query.get("sign") or [""])[0]
        if not timestamp.isdigit() or abs(int(timestamp) / 1000 - self.now()) > 3600:
            return self._refuse(token, 310000, "invalid timestamp")
        expected = base64.b64encode(
            hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
        ).decode()
        if not hmac.compare_digest(sign, expected):
            return self._refuse(token, 310000, "sign not match")
        markdown = body.get("markdown")
        if (
            set(body) != {"msgtype", "markdown"}
            or body["msgtype"] != "markdown"
            or not isinstance(markdown, dict)
            or set(markdown) != {"title", "text"}
            or not all(isinstance(v, str) and v for v in markdown.values())
        ):
            return self._refuse(token, 40035, "缺少参数 markdown")
        return self._accept(token, body, 130101, "send too fast, exceed 20 times per minute")

    def _wecom(self, query: dict, body: dict) -> dict:
        key = (query.get("key") or [""])[0]
        if key not in self.wecom:
            return self._refuse(key, 93000, "invalid webhook url")
        markdown = body.get("markdown")
        if (
            set(body) != {"msgtype", "markdown"}
            or body["msgtype"] != "markdown"
            or not isinstance(markdown, dict)
            or set(markdown) != {"content"}
            or not isinstance(markdown["content"], str)
            or not markdown["content"]
        ):
            return self._refuse(key, 40008, "invalid message type")
        if len(markdown["content"].encode()) > 4096:
            return self._refuse(key, 40058, "markdown.content exceed max length 4096")
        return self._accept(key, body, 45009, "api freq out of limit")

    def _accept(self, robot: str, body: dict, limit_code: int, limit_msg: str) -> dict:
        with self._lock:
            now = self.now()
            recent = [t for t in self._sent[robot] if now - t < 60]
            self._sent[robot] = recent
            if len(recent) >= PER_MINUTE:
                return self._refuse(robot, limit_code, limit_msg)
            recent.append(now)
            self.accepted.append({"robot": robot, "body": body})
        return {"errcode": 0, "errmsg": "ok"}

    def _refuse(self, robot: str, code: int, message: str) -> dict:
        self.refused.append({"robot": robot, "errcode": code})
        return {"errcode": code, "errmsg": message}

    def start(self) -> RobotServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def robots(settings):
    # The stand-in robot listens on plain http on this machine: let its addresses be saved.
    settings.CHANNEL_WEBHOOK_HOSTS = [*settings.CHANNEL_WEBHOOK_HOSTS, "http://127.0.0.1"]
    server = RobotServer().start()
    yield server
    server.stop()


# --- the stand-in itself keeps to the platforms' documents ------------------------------------


def _post(url: str, payload, content_type: str = "application/json") -> dict:
    data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": content_type})
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.status == 200
        return json.loads(response.read())


def _signed(webhook: str, secret: str, timestamp: int | None = None) -> str:
    timestamp = timestamp if timestamp is not None else int(time.time() * 1000)
    digest = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256)
    sign = urllib.parse.quote_plus(base64.b64encode(digest.digest()))
    return f"{webhook}&timestamp={timestamp}&sign={sign}"


DING = {"msgtype": "markdown", "markdown": {"title": "标题", "text": "#### 标题\n内容"}}
WECOM = {"msgtype": "markdown", "markdown": {"content": "#### 标题\n内容"}}


def test_dingtalk_accepts_a_message_signed_as_documented(robots):
    webhook = robots.add_dingtalk("tok", "SECabc")
    assert _post(_signed(webhook, "SECabc"), DING) == {"errcode": 0, "errmsg": "ok"}
    assert robots.messages("tok") == [DING]


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"secret": "SECwrong"}, 310000),
        ({"timestamp": int((time.time() - 3700) * 1000)}, 310000),
        ({"token": "unknown"}, 300001),
        ({"payload": {"msgtype": "text", "text": {"content": "x"}}}, 40035),
        ({"payload": {"msgtype": "markdown", "markdown": {"content": "x"}}}, 40035),
        ({"content_type": "text/plain"}, 40035),
    ],
)
def test_dingtalk_refuses_what_the_platform_refuses(robots, change, code):
    robots.add_dingtalk("tok", "SECabc")
    webhook = f"{robots.base}/robot/send?access_token={change.get('token', 'tok')}"
    url = _signed(webhook, change.get("secret", "SECabc"), change.get("timestamp"))
    answer = _post(url, change.get("payload", DING), change.get("content_type", "application/json"))
    assert answer["errcode"] == code
    assert robots.accepted == []


def test_dingtalk_refuses_an_unsigned_or_unencoded_request(robots):
    webhook = robots.add_dingtalk("tok", "SECabc")
    assert _post(webhook, DING)["errcode"] == 310000
    # A sign put into the address without url-encoding loses its "+" characters.
    for _ in range(50):
        timestamp = int(time.time() * 1000)
        digest = hmac.new(b"SECabc", f"{timestamp}\nSECabc".encode(), hashlib.sha256).digest()
        raw = base64.b64encode(digest).decode()
        if "+" in raw:
            break
        time.sleep(0.002)
    assert "+" in raw
    assert _post(f"{webhook}&timestamp={timestamp}&sign={raw}", DING)["errcode"] == 310000


def test_wecom_checks_the_key_and_the_body(robots):
    webhook = robots.add_wecom("k1")
    assert _post(webhook, WECOM)["errcode"] == 0
    assert _post(webhook.replace("k1", "k2"), WECOM)["errcode"] == 93000
    assert _post(webhook, DING)["errcode"] == 40008
    too_long = {"msgtype": "markdown", "markdown": {"content": "长" * 1400}}
    assert _post(webhook, too_long)["errcode"] == 40058
    assert robots.messages("k1") == [WECOM]


def test_more_than_20_messages_a_minute_are_refused_until_the_minute_has_passed(robots):
    ding = robots.add_dingtalk("tok", "SECabc")
    wecom = robots.add_wecom("k1")
    for _ in range(PER_MINUTE):
        assert _post(_signed(ding, "SECabc"), DING)["errcode"] == 0
        assert _post(wecom, WECOM)["errcode"] == 0
    assert _post(_signed(ding, "SECabc"), DING)["errcode"] == 130101
    assert _post(wecom, WECOM)["errcode"] == 45009
    # Another robot has its own allowance.
    other = robots.add_wecom("k2")
    assert _post(other, WECOM)["errcode"] == 0

    robots.offset += 61
    timestamp = int(robots.now() * 1000)
    assert _post(_signed(ding, "SECabc", timestamp), DING)["errcode"] == 0
    assert _post(wecom, WECOM)["errcode"] == 0
