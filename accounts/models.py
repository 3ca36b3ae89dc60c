"""Organisations taking part in the pilots' life, and the people who act for them."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from simple_history.models import HistoricalRecords

from accounts.constants import PRIVILEGED_ROLES, AuditAction, OrgKind, Role


class Organisation(models.Model):
    """A unit of government or a third-party body: the office, a provincial department or one
    of its divisions, a prefecture bureau, a county bureau, an evaluation body."""

    code = models.SlugField("代码", max_length=64, unique=True)
    name = models.CharField("名称", max_length=100, unique=True)
    short_name = models.CharField("简称", max_length=40)
    kind = models.CharField("类型", max_length=20, choices=OrgKind.choices, db_index=True)
    parent = models.ForeignKey(
        "self",
        verbose_name="上级单位",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    sort_order = models.PositiveIntegerField("排序", default=0)
    is_active = models.BooleanField("启用", default=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = "单位"
        verbose_name_plural = "单位"
        ordering = ["kind", "sort_order", "code"]

    def __str__(self) -> str:
        return self.name

    @property
    def unit_label(self) -> str:
        """The unit as pages name it: a division with its department (省生态环境厅·法规处)."""
        if self.kind == OrgKind.DIVISION and self.parent_id:
            return f"{self.parent.short_name or self.parent.name}·{self.short_name or self.name}"
        return self.short_name or self.name

    @property
    def place_name(self) -> str:
        """The place a prefecture or county bureau stands for (杭州市, 杭州市西湖区); other
        units by their name."""
        if self.kind == OrgKind.PREFECTURE:
            return _place(self.short_name, "市")
        if self.kind == OrgKind.COUNTY and self.parent_id:
            return f"{_place(self.parent.short_name, '市')}{self.short_name}"
        return self.short_name or self.name

    @property
    def is_region(self) -> bool:
        """A place of this province a pilot may be run in: a prefecture, or a county under
        one of the province's prefectures. A county-kind unit with no prefecture above it
        (the sample plan's 忻州市忻府区, from another province) is not."""
        if self.kind == OrgKind.PREFECTURE:
            return True
        return (
            self.kind == OrgKind.COUNTY
            and self.parent_id is not None
            and self.parent.kind == OrgKind.PREFECTURE
        )

    @property
    def prefecture_id(self) -> int | None:
        """The prefecture this unit belongs to (itself for a prefecture)."""
        if self.kind == OrgKind.PREFECTURE:
            return self.pk
        if self.kind == OrgKind.COUNTY:
            return self.parent_id
        return None


def region_filter() -> models.Q:
    """`Organisation.is_region` as a filter: the units a pilot's regions are chosen from."""
    return models.Q(kind=OrgKind.PREFECTURE) | models.Q(
        kind=OrgKind.COUNTY, parent__kind=OrgKind.PREFECTURE
    )


def _place(short_name: str, suffix: str) -> str:
    return short_name if short_name.endswith(suffix) else f"{short_name}{suffix}"


def office_organisation() -> Organisation | None:
    """The provincial office (省专项小组办公室): the one organisation that keeps the register
    and receives what is reported to it. The first one, should the directory hold more."""
    return Organisation.objects.filter(kind=OrgKind.OFFICE).order_by("pk").first()


class User(AbstractUser):
    """A person who signs in; acts for exactly one organisation in one role."""

    organisation = models.ForeignKey(
        Organisation,
        verbose_name="所属单位",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="users",
    )
    role = models.CharField("角色", max_length=20, choices=Role.choices, blank=True)
    display_name = models.CharField("姓名", max_length=50, blank=True)
    phone = models.CharField("联系电话", max_length=30, blank=True)
    # Who changed a user's role, unit or rights, and when; never the password hash.
    history = HistoricalRecords(excluded_fields=["password", "last_login"])

    class Meta:
        verbose_name = "用户"
        verbose_name_plural = "用户"

    def __str__(self) -> str:
        return self.display_name or self.username

    def display_with_unit(self) -> str:
        """The person as pages show them: name and unit (周立群（省生态环境厅）)."""
        name = self.display_name or self.get_full_name() or self.username
        if self.organisation_id:
            return f"{name}（{self.organisation.unit_label}）"
        return name

    @property
    def is_office(self) -> bool:
        return self.is_superuser or self.role in (Role.OFFICE, Role.ADMIN)

    @property
    def is_privileged(self) -> bool:
        """Superusers, system administrators and security auditors: only a superuser may
        create, change or grant them."""
        return self.is_superuser or self.role in PRIVILEGED_ROLES

    def save(self, *args, **kwargs):
        # Every path that saves a user (the admin, a form, the API, a domain function) passes
        # this guard: only a superuser grants superuser or staff status or a privileged role.
        from accounts.users import after_user_saved, guard_user_save

        update_fields = kwargs.get("update_fields")
        password_changed = guard_user_save(self, update_fields)
        self._password_only_save = password_changed
        try:
            super().save(*args, **kwargs)
        finally:
            del self._password_only_save
        if password_changed:
            after_user_saved(self)


class NoticeKind(models.TextChoices):
    """What a notice is about. Users choose by kind which notices also reach them by e-mail;
    each channel carries the kinds the office chose for it."""

    REMINDER = "reminder", "到期提醒"
    OVERDUE = "overdue", "逾期"
    DECISION = "decision", "审批结果"
    RETURNED = "returned", "退回修改"
    OTHER = "other", "其他通知"


class Notification(models.Model):
    """A notice to an organisation (and, when known, one person): what happened, to what, and
    where to act. Shown in the in-app list; also sent by e-mail to the organisation's users."""

    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="notifications"
    )
    recipient = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="notifications"
    )
    subject = models.CharField("标题", max_length=200)
    body = models.TextField("内容", blank=True)
    url = models.CharField("链接", max_length=300, blank=True)
    # Identifies what the notice is about, so that a job never sends the same notice twice.
    dedupe_key = models.CharField(max_length=200, blank=True, db_index=True)
    created_at = models.DateTimeField("时间", auto_now_add=True, db_index=True)
    read_at = models.DateTimeField("已读时间", null=True, blank=True)
    # Set once the e-mail went out; a notice whose e-mail could not be queued is sent later.
    emailed_at = models.DateTimeField("邮件发送时间", null=True, blank=True)
    # What the notice is about, for the users' e-mail choices and the channels' kinds.
    kind = models.CharField(
        "类别", max_length=16, choices=NoticeKind.choices, default=NoticeKind.OTHER, blank=True
    )

    class Meta:
        verbose_name = "通知"
        verbose_name_plural = "通知"
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "dedupe_key"],
                condition=~models.Q(dedupe_key=""),
                name="notification_once_per_key",
            )
        ]

    def __str__(self) -> str:
        return self.subject


class CalendarToken(models.Model):
    """The secret in a user's calendar feed address. Resetting issues a new one and revokes
    the old; a revoked token's feed is gone (404). Kept, never deleted."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="calendar_tokens"
    )
    token = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    revoked_at = models.DateTimeField("停用时间", null=True, blank=True)

    class Meta:
        verbose_name = "日历订阅地址"
        verbose_name_plural = "日历订阅地址"
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.user} 日历订阅"


class ApiToken(models.Model):
    """A personal access token for the REST API. Only a hash of the secret is stored; the
    secret is shown once, when issued. Revoked tokens stay on record (who, when) and no
    longer authenticate."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="api_tokens"
    )
    name = models.CharField("用途", max_length=60)
    prefix = models.CharField("令牌前缀", max_length=12, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    last_used_at = models.DateTimeField("最近使用", null=True, blank=True)
    revoked_at = models.DateTimeField("吊销时间", null=True, blank=True)
    # Set at issue from API_TOKEN_DAYS; an expired token authenticates nobody.
    expires_at = models.DateTimeField("到期时间", db_index=True)

    class Meta:
        verbose_name = "API 访问令牌"
        verbose_name_plural = "API 访问令牌"
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.user} {self.name}（{self.prefix}…）"

    @property
    def is_expired(self) -> bool:
        from django.utils import timezone

        return self.expires_at <= timezone.now()

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and not self.is_expired


class AuditEvent(models.Model):
    """One security-relevant event: who (user, or the name typed at a failed login), what,
    when, and from where (address and browser). Written by `accounts/audit.py` only; never
    changed or deleted by the product; readable by auditors."""

    at = models.DateTimeField("时间", auto_now_add=True, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="用户",
    )
    username = models.CharField("账号", max_length=150, blank=True, db_index=True)
    action = models.CharField("类别", max_length=16, choices=AuditAction.choices, db_index=True)
    object_type = models.CharField("对象类型", max_length=100, blank=True)
    object_id = models.CharField("对象", max_length=64, blank=True)
    summary = models.CharField("内容", max_length=500)
    ip = models.GenericIPAddressField("来源地址", null=True, blank=True)
    user_agent = models.CharField("浏览器", max_length=300, blank=True)
    path = models.CharField("请求地址", max_length=300, blank=True)

    class Meta:
        verbose_name = "审计日志"
        verbose_name_plural = "审计日志"
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["object_type", "object_id"], name="audit_object")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.username} {self.get_action_display()}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise PermissionError("审计日志只能追加，不能修改。")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("审计日志不能删除。")


class ChannelType(models.TextChoices):
    EMAIL = "email", "电子邮箱"
    DINGTALK = "dingtalk", "浙政钉（钉钉）群机器人"
    WECOM = "wecom", "企业微信群机器人"


class NoticeChannel(models.Model):
    """Where an organisation's notices are also sent: e-mail addresses, or a group robot of
    DingTalk or WeCom. A robot's webhook address and signing secret are stored encrypted
    (accounts/channels.py) and never shown again once saved. Deactivated, never deleted."""

    organisation = models.ForeignKey(
        Organisation, verbose_name="单位", on_delete=models.PROTECT, related_name="channels"
    )
    channel_type = models.CharField("渠道", max_length=16, choices=ChannelType.choices)
    name = models.CharField("名称", max_length=60)
    emails = models.TextField("邮箱地址", blank=True)
    webhook_encrypted = models.TextField(blank=True, editable=False)
    secret_encrypted = models.TextField(blank=True, editable=False)
    # The notice kinds this channel carries (NoticeKind values).
    kinds = models.JSONField("推送类别", default=list)
    is_active = models.BooleanField("启用", default=True)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    deactivated_at = models.DateTimeField("停用时间", null=True, blank=True)

    class Meta:
        verbose_name = "消息渠道"
        verbose_name_plural = "消息渠道"
        ordering = ["organisation", "-is_active", "channel_type", "pk"]

    def __str__(self) -> str:
        return f"{self.get_channel_type_display()}：{self.name}"

    @property
    def is_robot(self) -> bool:
        return self.channel_type in (ChannelType.DINGTALK, ChannelType.WECOM)

    @property
    def email_list(self) -> list[str]:
        return [line.strip() for line in self.emails.splitlines() if line.strip()]

    def kind_labels(self) -> str:
        return "、".join(NoticeKind(k).label for k in self.kinds if k in NoticeKind.values)


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "待发送"
    SENT = "sent", "已送达"
    FAILED = "failed", "未送达"


class Delivery(models.Model):
    """One message to one channel: a notice's digest, or a test message. Tried again with
    backoff when the channel fails or is busy; after the last try it stays 未送达 and is shown
    on the organisation's notices page."""

    organisation = models.ForeignKey(
        Organisation, verbose_name="单位", on_delete=models.PROTECT, related_name="deliveries"
    )
    channel = models.ForeignKey(
        NoticeChannel, verbose_name="渠道", on_delete=models.PROTECT, related_name="deliveries"
    )
    notification = models.ForeignKey(
        Notification, null=True, blank=True, on_delete=models.PROTECT, related_name="deliveries"
    )
    is_test = models.BooleanField("测试消息", default=False)
    subject = models.CharField("标题", max_length=200)
    body = models.TextField("内容", blank=True)
    url = models.CharField("链接", max_length=300, blank=True)
    status = models.CharField(
        "状态", max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField("尝试次数", default=0)
    last_error = models.CharField("最近错误", max_length=300, blank=True)
    # When the next try is due, while one is.
    next_attempt_at = models.DateTimeField("下次重试", null=True, blank=True)
    created_at = models.DateTimeField("创建时间", auto_now_add=True, db_index=True)
    sent_at = models.DateTimeField("送达时间", null=True, blank=True)

    class Meta:
        verbose_name = "渠道消息"
        verbose_name_plural = "渠道消息"
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["organisation", "status"], name="delivery_org_status")]

    def __str__(self) -> str:
        return f"{self.channel} {self.subject}"


class EmailPreference(models.Model):
    """Whether the user wants one kind of notice by e-mail too (without a row: yes). The
    notice stays in the in-app list either way."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="email_preferences"
    )
    kind = models.CharField("类别", max_length=16, choices=NoticeKind.choices)
    wanted = models.BooleanField("通过邮件接收", default=True)
    updated_at = models.DateTimeField("修改时间", auto_now=True)

    class Meta:
        verbose_name = "邮件通知选择"
        verbose_name_plural = "邮件通知选择"
        constraints = [
            models.UniqueConstraint(fields=["user", "kind"], name="email_preference_once")
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.get_kind_display()}：{'接收' if self.wanted else '不接收'}邮件"
