"""Notices written before they had a kind were all "other": each is given the kind its subject
shows (the words of accounts.channels.kind_of, copied here as they were when this ran), so
users' e-mail choices and channels' kinds apply to the older notices too."""

from django.db import migrations

DECIDED = ("批复同意", "未获通过", "未获推荐", "已同意", "未获同意", "已恢复入库", "已认定为")


def kind_of(subject: str) -> str:
    if "退回" in subject:
        return "returned"
    if any(word in subject for word in DECIDED):
        return "decision"
    if "逾期" in subject:
        return "overdue"
    if "即将到期" in subject:
        return "reminder"
    return "other"


def classify(apps, schema_editor):
    Notification = apps.get_model("accounts", "Notification")
    changed = []
    for notice in Notification.objects.filter(kind="other").only("pk", "subject").iterator():
        kind = kind_of(notice.subject)
        if kind != "other":
            notice.kind = kind
            changed.append(notice)
    Notification.objects.bulk_update(changed, ["kind"], batch_size=1000)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0009_notice_channels")]

    operations = [migrations.RunPython(classify, migrations.RunPython.noop, elidable=True)]
