"""The scheduled jobs' names and the labels of what they count, filled in by the apps that
own the jobs (in their `AppConfig.ready()`), so that the run log shows them in Chinese
without knowing any domain."""

from __future__ import annotations

JOBS: dict[str, str] = {}
# The Celery task that runs each job now (the jobs page's 立即运行).
TASKS: dict[str, object] = {}
COUNT_LABELS: dict[str, str] = {}
# A count's key may carry a kind after an underscore ("flagged_filing"): its label is the
# count's label and the kind's, joined by "·".
COUNT_KIND_LABELS: dict[str, str] = {}


# What each job does, in words, by job name; and by the dotted name of the task that runs it
# (the beat schedules name tasks, not jobs).
DESCRIPTIONS: dict[str, str] = {}
TASK_DESCRIPTIONS: dict[str, str] = {}
TASK_JOBS: dict[str, str] = {}


def register_job(name: str, label: str, task=None, description: str = "") -> None:
    JOBS[name] = label
    if description:
        DESCRIPTIONS[name] = description
    if task is not None:
        TASKS[name] = task
        task_name = getattr(task, "name", "")
        if task_name:
            TASK_JOBS[task_name] = name
            if description:
                TASK_DESCRIPTIONS[task_name] = description


def register_task_description(task_name: str, description: str) -> None:
    """What a scheduled task that is not a logged job does (a mail queue, a retry loop)."""
    TASK_DESCRIPTIONS[task_name] = description


def job_description(name: str) -> str:
    return DESCRIPTIONS.get(name, "")


def task_description(task_name: str) -> str:
    """What the task of a beat schedule does, in words; "" for a task nobody described."""
    return TASK_DESCRIPTIONS.get(task_name, "")


def task_label(task_name: str) -> str:
    """The job a task runs, by its Chinese name; "" for a task that runs no registered job."""
    job = TASK_JOBS.get(task_name)
    return JOBS.get(job, "") if job else ""


def task_job(task_name: str) -> str:
    """The job a beat schedule's task runs; "" for a task that runs no registered job."""
    return TASK_JOBS.get(task_name, "")


def job_task(name: str):
    """The task that runs job `name`, or None for a name no app registered."""
    return TASKS.get(name)


def register_count_labels(labels: dict[str, str], *, kinds: dict[str, str] | None = None) -> None:
    COUNT_LABELS.update(labels)
    COUNT_KIND_LABELS.update(kinds or {})


def job_choices() -> list[tuple[str, str]]:
    """The registered jobs as a field's choices (read each time: the registry fills late)."""
    return list(JOBS.items())


def job_label(name: str) -> str:
    return JOBS.get(name, name)


def count_label(key: str) -> str:
    """新增逾期·备案 for "flagged_filing", 解除 for "resolved", the key itself otherwise."""
    if key in COUNT_LABELS:
        return COUNT_LABELS[key]
    base, _, kind = key.partition("_")
    if base in COUNT_LABELS and kind in COUNT_KIND_LABELS:
        return f"{COUNT_LABELS[base]}·{COUNT_KIND_LABELS[kind]}"
    return key
