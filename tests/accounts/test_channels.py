"""Notice channels: each organisation's notices reach the e-mail addresses and the DingTalk and
WeCom group robots the office configured, one digest per organisation per job run, through
the queue, retried with backoff, and listed as 未送达 after the last try. The robots are the
local stand-ins of test_channel_server.py, strict about what the platforms document.

Tasks run eagerly in tests: Celery then runs a retry at once, whatever its countdown. Before
each retry the robots' clock is moved to the time the product scheduled it for (the delivery's
next_attempt_at), as if the worker had waited the countdown out."""

from __future__ import annotations

import datetime as dt
import socket
import time

import pytest
from celery.signals import task_prerun
from django.urls import reverse

from accounts import channels
from accounts.constants import AuditAction
from accounts.models import (
    AuditEvent,
    ChannelType,
    Delivery,
    DeliveryStatus,
    EmailPreference,
    NoticeChannel,
    NoticeKind,
    Notification,
)
from accounts.notify import notify
from core.models import PendingTask
from pilots import jobs
from pilots.constants import Status
from tests.accounts.test_channel_server import PER_MINUTE, RobotServer
from tests.factories import UserFactory

D = dt.date
ALL_KINDS = [NoticeKind.REMINDER, NoticeKind.OVERDUE, NoticeKind.DECISION, NoticeKind.RETURNED]


@pytest.fixture
def robots(settings):
    # The stand-in robot listens on plain http on this machine: let its addresses be saved.
    settings.CHANNEL_WEBHOOK_HOSTS = [*settings.CHANNEL_WEBHOOK_HOSTS, "http://127.0.0.1"]
    server = RobotServer().start()
    yield server
    server.stop()


@pytest.fixture
def waits(robots):
    """The waits (seconds) the product scheduled before each retry; before the retry runs, the
    robots' clock is moved to the time it was due, as if the worker had waited."""
    waited: list[int] = []

    def before_try(sender=None, args=None, **kwargs):
        if sender is None or sender.name != "accounts.tasks.deliver_to_channel":
            return
        due = Delivery.objects.get(pk=args[0]).next_attempt_at
        if due is not None:
            ahead = due.timestamp() - time.time()
            waited.append(round(ahead))
            robots.offset = max(robots.offset, ahead + 0.01)

    task_prerun.connect(before_try, weak=False)
    yield waited
    task_prerun.disconnect(before_try)


@pytest.fixture
def make_channel(personas):
    def _make(org, channel_type, webhook="", secret="", *, emails="", kinds=ALL_KINDS, name=""):
        return NoticeChannel.objects.create(
            organisation=org,
            channel_type=channel_type,
            name=name or f"{org.short_name}工作群",
            emails=emails,
            webhook_encrypted=channels.encrypt(webhook),
            secret_encrypted=channels.encrypt(secret),
            kinds=list(kinds),
            created_by=personas["office"],
        )

    return _make


def _overdue_filings(make_pilot, orgs, names):
    for name in names:
        make_pilot(
            name=name, status=Status.APPROVED, approval_date=D(2026, 11, 1), ledger_since=None
        )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- batching ---------------------------------------------------------------------------------


def test_one_digest_per_organisation_per_job_run_on_every_channel(
    make_pilot, orgs, robots, make_channel, mailoutbox, settings, django_capture_on_commit_callbacks
):
    make_channel(
        orgs["dept"], ChannelType.DINGTALK, robots.add_dingtalk("dept", "SECdept"), "SECdept"
    )
    make_channel(orgs["dept"], ChannelType.WECOM, robots.add_wecom("dept-key"))
    make_channel(orgs["dept"], ChannelType.EMAIL, emails="ban@zj.gov.cn\nli@zj.gov.cn")
    make_channel(orgs["dept"], ChannelType.WECOM, robots.add_wecom("decisions"), kinds=["decision"])
    make_channel(orgs["other_dept"], ChannelType.WECOM, robots.add_wecom("water"))
    names = ["甲湿地试点", "乙林长制试点", "丙河长制试点"]
    _overdue_filings(make_pilot, orgs, names)
    make_pilot(
        name="丁水权试点",
        lead_department=orgs["other_dept"],
        status=Status.APPROVED,
        approval_date=D(2026, 11, 1),
        ledger_since=None,
    )

    with django_capture_on_commit_callbacks(execute=True):
        jobs.flag_overdue(D(2026, 11, 9))

    # One message per robot for the whole run, listing every item of its organisation.
    [ding] = robots.messages("dept")
    [wecom] = robots.messages("dept-key")
    [water] = robots.messages("water")
    assert robots.messages("decisions") == []  # it carries decisions only
    assert ding["markdown"]["title"] == "【改革试点台账】新增逾期事项3项"
    link = f"{settings.SITE_URL}{reverse('pilots:overdue')}"
    for text in (ding["markdown"]["text"], wecom["markdown"]["content"]):
        assert all(name in text for name in names) and "丁水权试点" not in text
        assert text.count("\n- ") == 3
        assert f"[查看详情]({link})" in text
    assert "丁水权试点" in water["markdown"]["content"]
    # The e-mail channel: one message to its addresses.
    digests = [m for m in mailoutbox if m.to == ["ban@zj.gov.cn", "li@zj.gov.cn"]]
    assert len(digests) == 1 and digests[0].subject == "【改革试点台账】新增逾期事项3项"
    assert link in digests[0].body
    assert set(Delivery.objects.values_list("status", "attempts")) == {(DeliveryStatus.SENT, 1)}
    assert Delivery.objects.count() == 4

    # The same run again finds nothing new and sends nothing.
    with django_capture_on_commit_callbacks(execute=True):
        jobs.flag_overdue(D(2026, 11, 9))
    assert len(robots.accepted) == 3 and Delivery.objects.count() == 4


def test_reminders_and_decisions_reach_the_channels_with_their_kind(
    make_pilot, orgs, personas, robots, make_channel, django_capture_on_commit_callbacks
):
    make_channel(orgs["dept"], ChannelType.WECOM, robots.add_wecom("all"))
    make_channel(orgs["dept"], ChannelType.WECOM, robots.add_wecom("returns"), kinds=["returned"])
    _overdue_filings(make_pilot, orgs, ["甲湿地试点"])

    with django_capture_on_commit_callbacks(execute=True):
        jobs.send_reminders(D(2026, 11, 1))
        notify(organisation=orgs["dept"], subject="申报“甲湿地试点”被退回修改", body="请补充")
        notify(organisation=orgs["dept"], subject="申报“乙试点”已批复同意")
        # A notice to one person stays out of the group.
        notify(
            organisation=orgs["dept"], subject="申报“丙试点”被退回修改", recipient=personas["dept"]
        )

    kinds = dict(Notification.objects.values_list("subject", "kind"))
    assert kinds["1项事项即将到期"] == NoticeKind.REMINDER
    assert kinds["申报“甲湿地试点”被退回修改"] == NoticeKind.RETURNED
    assert kinds["申报“乙试点”已批复同意"] == NoticeKind.DECISION
    contents = [m["markdown"]["content"] for m in robots.messages("all")]
    assert len(contents) == 3 and "即将到期" in contents[0]
    assert "被退回修改" in contents[1] and "已批复同意" in contents[2]
    [returned] = robots.messages("returns")
    assert "甲湿地试点" in returned["markdown"]["content"]


# --- retries and failures -----------------------------------------------------------------------


@pytest.mark.parametrize("kind", [ChannelType.DINGTALK, ChannelType.WECOM])
def test_a_rate_limited_delivery_is_retried_and_then_delivered(
    kind, orgs, personas, robots, waits, make_channel, client, settings,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    settings.CHANNEL_RETRY_DELAYS = [60, 300]
    if kind == ChannelType.DINGTALK:
        channel = make_channel(
            orgs["dept"], kind, robots.add_dingtalk("dept", "SECdept"), "SECdept"
        )
        code = 130101
    else:
        channel = make_channel(orgs["dept"], kind, robots.add_wecom("dept"))
        code = 45009
    # The robot's allowance for this minute is used up by the office's test messages.
    client.force_login(personas["office"])
    for _ in range(PER_MINUTE):
        client.post(reverse("channel_test", args=[channel.pk]))
    assert len(robots.messages("dept")) == PER_MINUTE

    with django_capture_on_commit_callbacks(execute=True):
        notify(organisation=orgs["dept"], subject="申报“甲试点”已批复同意", url="/pilots/")

    delivery = Delivery.objects.get(is_test=False)
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.SENT, 2)
    assert waits == [60]
    assert robots.refused == [{"robot": "dept", "errcode": code}]
    assert "已批复同意" in str(robots.messages("dept")[-1])


@pytest.mark.parametrize("cause", ["rate_limited", "endpoint_down"])
def test_a_delivery_failing_past_the_last_try_is_shown_on_the_notices_page(
    cause, orgs, personas, robots, waits, make_channel, client, settings,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    settings.CHANNEL_RETRY_DELAYS = [5, 20]  # the minute does not pass within the tries
    if cause == "rate_limited":
        webhook = robots.add_wecom("dept")
        for _ in range(PER_MINUTE):
            channels.send(make_channel(orgs["office"], ChannelType.WECOM, webhook), "占用", "", "")
        reason = "发送过于频繁"
    else:
        webhook = f"http://127.0.0.1:{_free_port()}/cgi-bin/webhook/send?key=dept"
        reason = "无法连接接收方"
    make_channel(orgs["dept"], ChannelType.WECOM, webhook, name="综合处工作群")

    with django_capture_on_commit_callbacks(execute=True):
        notify(organisation=orgs["dept"], subject="销号报告被退回：甲试点", body="请补充材料")

    delivery = Delivery.objects.get(organisation=orgs["dept"])
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.FAILED, 3)
    assert waits == [5, 20]
    assert reason in delivery.last_error and "key=" not in delivery.last_error
    client.force_login(personas["dept"])
    page = client.get(reverse("notifications")).content.decode()
    assert "未送达" in page and "销号报告被退回：甲试点" in page and reason in page
    assert "综合处工作群" in page
    # Another organisation's page does not show it.
    client.force_login(personas["hangzhou"])
    assert "未送达" not in client.get(reverse("notifications")).content.decode()
    client.force_login(personas["office"])
    overview = client.get(reverse("channel_list")).content.decode()
    assert 'badge-warn">1<' in overview


def test_a_wrong_secret_is_refused_by_the_robot_and_recorded(
    orgs, personas, robots, waits, make_channel, client, django_capture_on_commit_callbacks
):
    webhook = robots.add_dingtalk("dept", "SECright")
    channel = make_channel(orgs["dept"], ChannelType.DINGTALK, webhook, "SECwrong")

    with django_capture_on_commit_callbacks(execute=True):
        notify(organisation=orgs["dept"], subject="申报“甲试点”未获通过")

    delivery = Delivery.objects.get()
    # Refused for good: no retry, recorded, and listed as undelivered.
    assert (delivery.status, delivery.attempts, waits) == (DeliveryStatus.FAILED, 1, [])
    assert "310000" in delivery.last_error
    assert robots.refused == [{"robot": "dept", "errcode": 310000}] and robots.accepted == []
    client.force_login(personas["dept"])
    assert "未送达" in client.get(reverse("notifications")).content.decode()
    # The test button says so at once.
    client.force_login(personas["office"])
    answer = client.post(reverse("channel_test", args=[channel.pk]), follow=True)
    assert "测试消息未送达" in answer.content.decode() and "310000" in answer.content.decode()


def test_with_the_broker_down_deliveries_are_kept_and_sent_later(
    orgs, robots, make_channel, django_capture_on_commit_callbacks
):
    from accounts.tasks import deliver_to_channel
    from config.celery import app

    make_channel(orgs["dept"], ChannelType.WECOM, robots.add_wecom("dept"))
    saved = (app.conf.task_always_eager, app.conf.broker_url)
    app.conf.task_always_eager = False
    app.conf.broker_url = f"redis://127.0.0.1:{_free_port()}/0"
    app._pool = None
    app.amqp._producer_pool = None
    try:
        with django_capture_on_commit_callbacks(execute=True):
            notify(organisation=orgs["dept"], subject="申报“甲试点”已批复同意")
    finally:
        app.conf.task_always_eager, app.conf.broker_url = saved
        app._pool = None
        app.amqp._producer_pool = None

    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.PENDING and robots.accepted == []
    kept = PendingTask.objects.get(task=deliver_to_channel.name)
    assert kept.args == [delivery.pk]
    # The broker is back: the kept task runs and the message arrives.
    deliver_to_channel.apply(args=kept.args)
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENT and len(robots.accepted) == 1


# --- the office's pages -----------------------------------------------------------------------


def test_the_secret_never_appears_in_any_page_or_api_response(
    orgs, personas, robots, client, django_capture_on_commit_callbacks
):
    secret = "SECf00dcafe1234567890abcdef"
    webhook = robots.add_dingtalk("tok-4f1a9c", secret)
    client.force_login(personas["office"])
    # A form with an error does not send the secret or address back either.
    answer = client.post(
        reverse("channel_create", args=["dept-env"]),
        {"channel_type": "dingtalk", "name": "", "webhook": webhook, "secret": secret,
         "kinds": ["overdue"]},
    )  # fmt: skip
    assert answer.status_code == 200 and "请填写名称" in answer.content.decode()
    assert secret not in answer.content.decode() and "tok-4f1a9c" not in answer.content.decode()
    answer = client.post(
        reverse("channel_create", args=["dept-env"]),
        {"channel_type": "dingtalk", "name": "法规处工作群", "webhook": webhook, "secret": secret,
         "kinds": ["overdue", "decision"]},
    )  # fmt: skip
    assert answer.status_code == 302
    channel = NoticeChannel.objects.get()
    assert secret not in channel.secret_encrypted and "tok-4f1a9c" not in channel.webhook_encrypted
    assert channels.decrypt(channel.secret_encrypted) == secret

    # Changed without re-entering them: both stay as they were, and the robot accepts.
    client.post(
        reverse("channel_edit", args=[channel.pk]),
        {"name": "法规处群", "webhook": "", "secret": "", "kinds": ["overdue"]},
    )
    channel.refresh_from_db()
    assert channel.name == "法规处群" and channels.decrypt(channel.secret_encrypted) == secret
    client.post(reverse("channel_test", args=[channel.pk]))
    assert len(robots.messages("tok-4f1a9c")) == 1
    with django_capture_on_commit_callbacks(execute=True):
        notify(organisation=orgs["dept"], subject="新增逾期事项1项", kind="overdue")

    pages = [
        reverse("channel_list"),
        reverse("channel_org", args=["dept-env"]),
        reverse("channel_edit", args=[channel.pk]),
        reverse("notifications"),
        reverse("profile"),
        "/api/v1/notifications/",
        "/api/v1/organisations/",
    ]
    for user in ("office", "dept"):
        client.force_login(personas[user])
        for url in pages:
            body = client.get(url).content.decode()
            assert secret not in body and "tok-4f1a9c" not in body, url
    client.force_login(personas["office"])
    edit = client.get(reverse("channel_edit", args=[channel.pk])).content.decode()
    assert "已设置（不显示）" in edit and "替换加签密钥" in edit


def test_only_the_office_configures_channels_and_sends_test_messages(
    orgs, personas, robots, make_channel, client_for, django_capture_on_commit_callbacks
):
    channel = make_channel(orgs["dept"], ChannelType.WECOM, robots.add_wecom("dept"))
    for user in ("dept", "hangzhou"):
        client = client_for(user)
        assert client.post(reverse("channel_test", args=[channel.pk])).status_code == 403
        assert client.get(reverse("channel_org", args=["dept-env"])).status_code == 403
        assert client.post(reverse("channel_deactivate", args=[channel.pk])).status_code == 403
    assert robots.accepted == []

    client = client_for("office")
    answer = client.post(reverse("channel_test", args=[channel.pk]), follow=True)
    assert "测试消息已发送" in answer.content.decode()
    [message] = robots.messages("dept")
    assert "测试消息" in message["markdown"]["content"]
    assert "发送测试消息" in client.get(reverse("channel_org", args=["dept-env"])).content.decode()

    # Deactivated: kept, shown as such, and sent nothing.
    client.post(reverse("channel_deactivate", args=[channel.pk]))
    channel.refresh_from_db()
    assert not channel.is_active and channel.deactivated_at is not None
    with django_capture_on_commit_callbacks(execute=True):
        notify(organisation=orgs["dept"], subject="申报“甲试点”已批复同意")
    assert len(robots.accepted) == 1 and not Delivery.objects.filter(is_test=False).exists()
    assert "已停用" in client.get(reverse("channel_org", args=["dept-env"])).content.decode()
    client.post(reverse("channel_reactivate", args=[channel.pk]))
    assert NoticeChannel.objects.get().is_active


def test_every_change_to_a_channel_is_in_the_audit_log_without_its_secrets(
    orgs, personas, robots, client_for
):
    secret = "SECaudit0123456789abcdef"
    webhook = robots.add_dingtalk("tok-audit77", secret)
    client = client_for("office")
    client.post(
        reverse("channel_create", args=["dept-env"]),
        {"channel_type": "dingtalk", "name": "法规处工作群", "webhook": webhook, "secret": secret,
         "kinds": ["overdue"]},
    )  # fmt: skip
    channel = NoticeChannel.objects.get()
    client.post(
        reverse("channel_edit", args=[channel.pk]),
        {"name": "法规处群", "webhook": "", "secret": secret + "2", "kinds": ["overdue"]},
    )
    client.post(
        reverse("channel_edit", args=[channel.pk]),
        {"name": "法规处群", "webhook": "", "secret": "", "kinds": ["overdue"]},
    )  # nothing changed: nothing recorded
    client.post(reverse("channel_deactivate", args=[channel.pk]))
    client.post(reverse("channel_deactivate", args=[channel.pk]))  # already stopped
    client.post(reverse("channel_reactivate", args=[channel.pk]))

    events = AuditEvent.objects.filter(object_type="accounts.noticechannel").order_by("pk")
    summaries = [e.summary for e in events]
    assert summaries == [
        "新建消息渠道“浙江省生态环境厅”的浙政钉（钉钉）群机器人“法规处工作群”，推送类别：逾期",
        "修改消息渠道“浙江省生态环境厅”的浙政钉（钉钉）群机器人“法规处群”："
        "名称、签名密钥（已更新，不记录内容）",
        "停用消息渠道“浙江省生态环境厅”的浙政钉（钉钉）群机器人“法规处群”",
        "重新启用消息渠道“浙江省生态环境厅”的浙政钉（钉钉）群机器人“法规处群”",
    ]
    assert {e.user for e in events} == {personas["office"]}
    assert {e.action for e in events} == {AuditAction.CHANGE}
    for event in events:
        assert secret not in event.summary and "tok-audit77" not in event.summary


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"channel_type": "dingtalk", "webhook": "https://oapi.dingtalk.com/robot/send?access_token=x"},
         "请填写钉钉机器人的加签密钥。"),
        ({"channel_type": "dingtalk", "secret": "SECx"}, "请填写机器人的 Webhook 地址。"),
        ({"channel_type": "wecom", "webhook": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send"},
         "须带有 key 参数"),
        ({"channel_type": "wecom", "webhook": "ftp://example.cn/x?key=1"}, "须以 https:// 开头"),
        ({"channel_type": "email", "emails": "ban@zj.gov.cn\n不是邮箱"}, "格式不正确"),
        ({"channel_type": "email", "emails": ""}, "请至少填写一个邮箱地址。"),
        ({"channel_type": "email", "emails": "ban@zj.gov.cn", "kinds": []}, "请至少选择一类通知。"),
        ({"channel_type": "sms", "emails": "ban@zj.gov.cn"}, "选择一个有效的选项"),
    ],
)  # fmt: skip
def test_bad_channel_input_gets_a_clear_message_and_changes_nothing(
    personas, client_for, data, error
):
    client = client_for("office")
    form = {"name": "工作群", "kinds": ["overdue"], **data}
    answer = client.post(reverse("channel_create", args=["dept-env"]), form)
    assert answer.status_code == 200 and error in answer.content.decode()
    assert not NoticeChannel.objects.exists()
    assert client.get(reverse("channel_org", args=["no-such-unit"])).status_code == 404
    assert client.post(reverse("channel_test", args=[999999])).status_code == 404


@pytest.mark.parametrize(
    ("channel_type", "webhook", "secret"),
    [
        ("dingtalk", "http://127.0.0.1:8777/admin/", "SECx"),
        ("dingtalk", "https://evil.example.cn/robot/send?access_token=x", "SECx"),
        ("wecom", "https://oapi.dingtalk.com.evil.cn/cgi-bin/webhook/send?key=x", ""),
        ("wecom", "https://qyapi.weixin.qq.com/admin/?key=x", ""),
    ],
)
def test_a_robot_address_must_be_https_on_the_platforms_own_host(
    personas, client_for, channel_type, webhook, secret
):
    form = {"channel_type": channel_type, "name": "工作群", "kinds": ["overdue"],
            "webhook": webhook, "secret": secret}  # fmt: skip
    answer = client_for("office").post(reverse("channel_create", args=["dept-env"]), form)
    assert answer.status_code == 200 and "Webhook 地址" in answer.content.decode()
    assert not NoticeChannel.objects.exists()


def test_the_domain_save_refuses_a_robot_address_on_another_host(personas, orgs):
    from django.core.exceptions import ValidationError

    from accounts.channel_settings import save_channel

    channel = NoticeChannel(organisation=orgs["dept"], channel_type=ChannelType.DINGTALK)
    with pytest.raises(ValidationError) as refused:
        save_channel(
            actor=personas["office"],
            channel=channel,
            name="工作群",
            kinds=["overdue"],
            webhook="http://127.0.0.1:8777/admin/",
            secret="SECx",
        )
    assert "https://" in refused.value.message_dict["webhook"][0]
    assert not NoticeChannel.objects.exists()


def test_a_stored_robot_address_on_another_host_is_never_called(orgs, make_channel):
    old = make_channel(
        orgs["dept"], ChannelType.WECOM, "http://10.0.0.9/cgi-bin/webhook/send?key=k"
    )
    with pytest.raises(channels.ChannelError) as refused:
        channels.send(old, "提醒", "正文", "")
    assert "未发送" in refused.value.message and "10.0.0.9" not in refused.value.message
    assert refused.value.retryable is False


# --- the users' e-mail choices ----------------------------------------------------------------


def test_users_choose_which_kinds_of_notice_they_receive_by_email(
    make_pilot, orgs, client, mailoutbox, django_capture_on_commit_callbacks
):
    wang = UserFactory(username="wang", organisation=orgs["dept"], email="wang@zj.gov.cn")
    zhao = UserFactory(username="zhao", organisation=orgs["dept"], email="zhao@zj.gov.cn")
    client.force_login(wang)
    answer = client.post(
        reverse("email_preferences"), {"kinds": ["reminder", "decision", "returned"]}, follow=True
    )
    assert "已保存" in answer.content.decode()
    assert list(EmailPreference.objects.filter(user=wang, wanted=False).values_list("kind")) == [
        ("overdue",)
    ]
    profile = client.get(reverse("profile")).content.decode()
    assert 'value="overdue">' in profile and 'value="reminder" checked>' in profile
    _overdue_filings(make_pilot, orgs, ["甲湿地试点"])

    with django_capture_on_commit_callbacks(execute=True):
        jobs.send_reminders(D(2026, 11, 1))
    with django_capture_on_commit_callbacks(execute=True):
        jobs.flag_overdue(D(2026, 11, 9))

    sent = {m.subject: sorted(m.to) for m in mailoutbox}
    assert sent["【改革试点台账】1项事项即将到期"] == ["wang@zj.gov.cn", "zhao@zj.gov.cn"]
    assert sent["【改革试点台账】新增逾期事项1项"] == ["zhao@zj.gov.cn"]
    # The notice itself stays in the list of the organisation.
    assert Notification.objects.filter(organisation=orgs["dept"]).count() == 2
    assert zhao.email_preferences.count() == 0

    # Bad input changes nothing.
    answer = client.post(reverse("email_preferences"), {"kinds": ["sms"]}, follow=True)
    assert "通知类别不正确" in answer.content.decode() or "有效" in answer.content.decode()
    assert EmailPreference.objects.filter(user=wang, wanted=False).count() == 1


def test_messages_are_short_markdown_with_an_absolute_link(settings):
    items = "\n".join(f"· 事项{n}" * 20 for n in range(60))
    body = f"以下事项已超过规定期限，请尽快办理：\n{items}"
    title, text = channels.render_markdown("新增逾期事项60项", body, "/pilots/overdue/")
    assert title == "【改革试点台账】新增逾期事项60项"
    assert len(text.encode()) <= 4096
    assert text.startswith("#### 【改革试点台账】新增逾期事项60项\n以下事项")
    assert "……（内容较长，请在系统中查看）" in text
    assert text.endswith(f"[查看详情]({settings.SITE_URL}/pilots/overdue/)")
    # Markdown's own characters in names cannot break the message.
    _, text = channels.render_markdown("申报", "· [试点](javascript:x) *重点*", "")
    assert "[试点]" not in text and "*重点*" not in text


def test_a_delivery_whose_task_was_lost_is_queued_again(
    orgs, robots, make_channel, time_machine, django_capture_on_commit_callbacks
):
    from accounts.tasks import send_pending_emails

    make_channel(orgs["dept"], ChannelType.WECOM, robots.add_wecom("dept"))
    time_machine.move_to(dt.datetime(2026, 11, 9, 9, 0, tzinfo=dt.UTC))
    # Written, but its task never ran (the queue lost it).
    with django_capture_on_commit_callbacks(execute=False):
        notify(organisation=orgs["dept"], subject="申报“甲试点”已批复同意")
    delivery = Delivery.objects.get()
    send_pending_emails.apply()
    assert robots.accepted == []  # not yet: it may still be on its way

    time_machine.move_to(dt.datetime(2026, 11, 9, 9, 20, tzinfo=dt.UTC))
    send_pending_emails.apply()
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENT and len(robots.accepted) == 1
    send_pending_emails.apply()
    assert len(robots.accepted) == 1


def test_older_notices_are_given_the_kind_their_subject_shows(orgs):
    """Notices from before kinds existed were all "other"; the data migration classifies them
    with the same words as new notices (accounts.channels.kind_of)."""
    from importlib import import_module

    from django.apps import apps

    migration = import_module("accounts.migrations.0010_classify_old_notices")
    expected = {
        "申报“甲试点”已退回修改": NoticeKind.RETURNED,
        "申报“乙试点”已批复同意": NoticeKind.DECISION,
        "新增逾期事项2项": NoticeKind.OVERDUE,
        "3项试点即将到期": NoticeKind.REMINDER,
        "系统维护通知": NoticeKind.OTHER,
    }
    for subject in expected:
        Notification.objects.create(organisation=orgs["dept"], subject=subject, kind="other")
    migration.classify(apps, None)
    assert dict(Notification.objects.values_list("subject", "kind")) == expected
    assert {s: migration.kind_of(s) for s in expected} == {s: channels.kind_of(s) for s in expected}
