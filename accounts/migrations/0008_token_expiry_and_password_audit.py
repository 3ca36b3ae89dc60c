import datetime

from django.conf import settings
from django.db import migrations, models


def set_expiry(apps, schema_editor):
    """Tokens issued before expiry existed run for API_TOKEN_DAYS from their issue."""
    token_model = apps.get_model("accounts", "ApiToken")
    days = datetime.timedelta(days=getattr(settings, "API_TOKEN_DAYS", 180))
    for token in token_model.objects.filter(expires_at__isnull=True).only("pk", "created_at"):
        token_model.objects.filter(pk=token.pk).update(expires_at=token.created_at + days)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0007_history_reason_text"),
    ]

    operations = [
        migrations.AddField(
            model_name="apitoken",
            name="expires_at",
            field=models.DateTimeField(null=True, verbose_name="到期时间"),
        ),
        migrations.RunPython(set_expiry, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="apitoken",
            name="expires_at",
            field=models.DateTimeField(db_index=True, verbose_name="到期时间"),
        ),
        migrations.AlterField(
            model_name="auditevent",
            name="action",
            field=models.CharField(
                choices=[
                    ("login", "登录"),
                    ("login_failed", "登录失败"),
                    ("locked_out", "登录锁定"),
                    ("logout", "退出"),
                    ("change", "数据变更"),
                    ("permission", "权限变更"),
                    ("upload", "上传文件"),
                    ("download", "下载文件"),
                    ("export", "导出"),
                    ("token", "访问令牌"),
                    ("password", "密码"),
                ],
                db_index=True,
                max_length=16,
                verbose_name="类别",
            ),
        ),
    ]
