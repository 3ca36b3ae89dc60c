"""The production deployment files agree with the code they deploy.

Dockerfile, docker-compose.yml, .env.example and .dockerignore name modules, settings,
variables, paths, ports and Debian packages that live elsewhere in the project. No Docker engine
runs the tests: they read the files and check every such name against the code, so that a
rename on either side fails here instead of at the first deployment.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import shlex
import subprocess
import sys
import urllib.parse
from pathlib import Path

import pytest
import yaml
from celery import Celery
from django.conf import settings
from django.test import Client, override_settings
from django.urls import reverse

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
COMPOSE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
DOCKERIGNORE = ROOT / ".dockerignore"
SETTINGS_SOURCE = ROOT / "config" / "settings.py"
SYSTEM_DEPS = ROOT / "scripts" / "system-deps.sh"
MAKEFILE = ROOT / "Makefile"

SERVICES = {"db", "redis", "web", "worker", "beat"}
# Variables only the containers read (the postgres image, gunicorn's and Celery's command
# lines), never the settings.
CONTAINER_ONLY = {"GUNICORN_WORKERS", "CELERY_MAX_MEMORY_KB"}
CONTAINER_ONLY_PREFIXES = ("POSTGRES_",)
# Set by Docker in every container.
DOCKER_PROVIDED = {"HOSTNAME"}
# System packages the image leaves out: the browser is for the browser tests only, Node.js and
# npm only build the front-end assets in their own stage.
NOT_IN_RUNTIME_IMAGE = {"chromium", "nodejs", "npm"}


# --- Reading the files ----------------------------------------------------------------------


def _compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


def _service(name: str) -> dict:
    return _compose()["services"][name]


def _strings(node) -> list[str]:
    """Every string value in a loaded YAML document (keys and comments left out)."""
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for value in node.values() for s in _strings(value)]
    if isinstance(node, list):
        return [s for item in node for s in _strings(item)]
    return []


_VAR_NAME = r"[A-Za-z_][A-Za-z0-9_]*"


def _compose_interpolated(text: str) -> set[str]:
    """Names docker compose substitutes itself: $NAME and ${NAME...}, but not $$ escapes."""
    text = text.replace("$$", "")
    return set(re.findall(rf"\$\{{({_VAR_NAME})", text)) | set(
        re.findall(rf"\$({_VAR_NAME})", text)
    )


def _container_expanded(text: str) -> set[str]:
    """Names left to the container's shell through a $$ escape."""
    return set(re.findall(rf"\$\$\{{?({_VAR_NAME})", text))


def _command(service: dict) -> str:
    """A service's command as one string; for `sh -c SCRIPT`, the script."""
    command = service["command"]
    if isinstance(command, str):
        return command
    if command[:2] == ["sh", "-c"]:
        return command[2]
    return " ".join(command)


def _healthcheck_test(service: dict) -> list[str]:
    test = service["healthcheck"]["test"]
    return shlex.split(test) if isinstance(test, str) else list(test)


def _dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined and comments dropped."""
    instructions, pending = [], ""
    for raw in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1].strip() + " "
            continue
        keyword, _, args = (pending + line).partition(" ")
        instructions.append((keyword.upper(), args.strip()))
        pending = ""
    assert not pending, "the Dockerfile ends inside a continued line"
    return instructions


def _dockerfile_stages() -> list[dict]:
    """The build stages in order: name, base image (global ARGs resolved), instructions."""
    global_args, stages = {}, []
    for keyword, args in _dockerfile_instructions():
        if keyword == "FROM":
            parts = args.split()
            base = re.sub(
                rf"\$\{{?({_VAR_NAME})\}}?", lambda m: global_args.get(m.group(1), ""), parts[0]
            )
            name = parts[2] if len(parts) == 3 and parts[1].upper() == "AS" else None
            stages.append({"name": name, "base": base, "instructions": []})
        elif not stages:
            if keyword == "ARG":
                key, _, value = args.partition("=")
                global_args[key.strip()] = value.strip()
        else:
            stages[-1]["instructions"].append((keyword, args))
    return stages


def _runtime_stage() -> dict:
    return _dockerfile_stages()[-1]


def _stage_args(stage: dict, keyword: str) -> list[str]:
    return [args for kw, args in stage["instructions"] if kw == keyword]


def _apt_packages(stage: dict) -> set[str]:
    packages = set()
    for run in _stage_args(stage, "RUN"):
        for segment in re.split(r"&&|;|\|\|", run):
            tokens = shlex.split(segment)
            if "apt-get" in tokens and "install" in tokens:
                after = tokens[tokens.index("install") + 1 :]
                packages |= {t for t in after if not t.startswith("-")}
    return packages


def _dockerfile_env(stage: dict) -> dict[str, str]:
    env = {}
    for args in _stage_args(stage, "ENV"):
        tokens = shlex.split(args)
        if tokens and "=" not in tokens[0]:  # the legacy `ENV NAME value` form
            env[tokens[0]] = " ".join(tokens[1:])
            continue
        for token in tokens:
            key, _, value = token.partition("=")
            env[key] = value
    return env


def _image_command() -> str:
    """The runtime image's CMD (and ENTRYPOINT, if any) as one string; `sh -c` unwrapped."""
    parts = []
    for keyword in ("ENTRYPOINT", "CMD"):
        for args in _stage_args(_runtime_stage(), keyword):
            words = json.loads(args) if args.startswith("[") else [args]
            parts.append(words[2] if words[:2] == ["sh", "-c"] else " ".join(words))
    return " ".join(parts)


def _gunicorn_line(command: str) -> str:
    match = re.search(r"gunicorn\s.*$", command.replace("\n", " "))
    assert match, f"no gunicorn in {command!r}"
    return " ".join(match.group(0).split())


def _env_example() -> tuple[dict[str, str], set[str]]:
    """The variables .env.example sets, and those it documents as commented-out options."""
    active, optional = {}, set()
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        if match := re.fullmatch(rf"({_VAR_NAME})=(.*)", line):
            active[match.group(1)] = match.group(2).strip()
        elif match := re.fullmatch(rf"#\s*({_VAR_NAME})=.*", line):
            optional.add(match.group(1))
    return active, optional


def _settings_reads(name: str) -> bool:
    source = SETTINGS_SOURCE.read_text(encoding="utf-8")
    quoted = re.escape(f'"{name}"')
    return bool(re.search(rf"(?:env_\w+\(|environ\.get\(|environ\[|getenv\()\s*{quoted}", source))


def _settings_env_names() -> set[str]:
    source = SETTINGS_SOURCE.read_text(encoding="utf-8")
    return set(re.findall(rf'(?:env_\w+\(|environ\.get\(|getenv\()\s*"({_VAR_NAME})"', source))


def _container_only(name: str) -> bool:
    return name in CONTAINER_ONLY or name.startswith(CONTAINER_ONLY_PREFIXES)


def _mounts(service: dict) -> dict[str, str]:
    """Named-volume mounts of a service: {volume: path in the container}."""
    mounts = {}
    for volume in service.get("volumes", []):
        if isinstance(volume, str):
            source, target = volume.split(":")[:2]
        else:
            source, target = volume["source"], volume["target"]
        mounts[source] = target
    return mounts


def _flag(command: str, name: str) -> str:
    """The value of `--name value` or `--name=value` in a command line."""
    match = re.search(rf"(?:^|\s){re.escape(name)}(?:=|\s+)(\S+)", command)
    assert match, f"{name} is missing from {command!r}"
    return match.group(1)


# --- docker-compose.yml: services -----------------------------------------------------------


def test_compose_runs_exactly_db_redis_web_worker_and_beat():
    assert set(_compose()["services"]) == SERVICES


def test_web_worker_and_beat_run_the_one_image_built_from_the_project():
    services = _compose()["services"]
    built = {name for name, service in services.items() if "build" in service}
    assert built == {"web", "worker", "beat"}
    assert {services[name]["build"] for name in built} == {"."}
    assert len({services[name].get("image") for name in built}) == 1
    assert all(services[name].get("env_file") == ".env" for name in built)


def test_every_service_has_a_healthcheck():
    for name, service in _compose()["services"].items():
        check = service.get("healthcheck")
        assert check and not check.get("disable"), f"{name} has no healthcheck"
        assert _healthcheck_test(service)[0] in {"CMD", "CMD-SHELL"}, name


def test_db_and_redis_are_checked_with_pg_isready_and_redis_cli_ping():
    assert "pg_isready" in " ".join(_healthcheck_test(_service("db")))
    assert "redis-cli ping" in " ".join(_healthcheck_test(_service("redis")))


def test_the_app_waits_for_a_healthy_database_and_broker():
    for name in ("web", "worker", "beat"):
        depends = _service(name)["depends_on"]
        for needed in ("db", "redis"):
            assert depends[needed]["condition"] == "service_healthy", (name, needed)


def test_beat_starts_after_web_has_applied_the_migrations_holding_its_schedules():
    assert "migrate" in _command(_service("web"))
    assert _service("beat")["depends_on"]["web"]["condition"] == "service_healthy"


def test_database_and_private_files_live_on_named_volumes():
    compose = _compose()
    assert {"pgdata", "private"} <= set(compose["volumes"])
    assert _mounts(compose["services"]["db"]) == {"pgdata": "/var/lib/postgresql/data"}


def test_web_and_worker_mount_the_private_volume_at_the_images_private_media_root():
    private_root = _dockerfile_env(_runtime_stage())["PRIVATE_MEDIA_ROOT"]
    for name in ("web", "worker"):
        assert _mounts(_service(name)).get("private") == private_root, name


def test_beat_runs_one_replica_with_the_scheduler_the_settings_name():
    beat = _service("beat")
    assert beat["deploy"]["replicas"] == 1
    command = _command(beat)
    assert " beat " in f" {command} "
    assert _flag(command, "--scheduler") == settings.CELERY_BEAT_SCHEDULER


def test_no_other_service_embeds_a_beat():
    for name in SERVICES - {"beat"}:
        service = _service(name)
        if "command" in service:
            words = _command(service).split()
            assert "beat" not in words and "-B" not in words and "--beat" not in words, name


def test_the_celery_app_named_in_worker_and_beat_commands_is_a_celery_app():
    commands = [_command(_service("worker")), _command(_service("beat"))]
    commands.append(" ".join(_healthcheck_test(_service("worker"))))
    modules = {_flag(command, "-A") for command in commands}
    assert modules == {"config.celery"}
    module = importlib.import_module(modules.pop())
    assert isinstance(module.app, Celery)


def test_worker_prefetches_one_task_and_recycles_processes_by_memory():
    command = _command(_service("worker"))
    assert " worker " in f" {command} "
    assert (
        int(_flag(command, "--prefetch-multiplier")) == settings.CELERY_WORKER_PREFETCH_MULTIPLIER
    )
    assert _flag(command, "--max-memory-per-child") == "${CELERY_MAX_MEMORY_KB:-400000}"
    # The deployment guide relies on these: a task lost with its worker runs again.
    assert settings.CELERY_TASK_ACKS_LATE is True
    assert settings.CELERY_TASK_REJECT_ON_WORKER_LOST is True


def test_worker_healthcheck_pings_its_own_node_name_from_inside_the_container():
    check = " ".join(_healthcheck_test(_service("worker")))
    assert "inspect ping" in check
    # $$ escapes the variable: compose itself would otherwise put the host's name there.
    assert "celery@$$HOSTNAME" in check


def _other_beat_running() -> bool:
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and b"beat" in (entry / "cmdline").read_bytes().split(b"\0"):
                return True
        except OSError:
            continue
    return False


def test_beat_healthcheck_finds_a_process_running_beat_and_never_counts_itself():
    if not Path("/proc/self/cmdline").exists():
        pytest.skip("needs /proc")
    test = _healthcheck_test(_service("beat"))
    assert test[:3] == ["CMD", "python", "-c"]
    script = test[3]
    if not _other_beat_running():
        assert subprocess.run([sys.executable, "-c", script], timeout=30).returncode == 1
    beat = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "beat"])
    try:
        assert subprocess.run([sys.executable, "-c", script], timeout=30).returncode == 0
    finally:
        beat.kill()
        beat.wait()


# --- gunicorn: one command line in the image and in compose ----------------------------------


def test_the_gunicorn_target_resolves_to_the_wsgi_application():
    target = _gunicorn_line(_image_command()).split()[1]
    assert target == "config.wsgi:application"
    module_name, _, attribute = target.partition(":")
    application = getattr(importlib.import_module(module_name), attribute)
    assert callable(application)
    assert settings.WSGI_APPLICATION == f"{module_name}.{attribute}"


def test_the_image_command_starts_gunicorn_with_workers_timeout_and_access_log():
    line = _gunicorn_line(_image_command())
    assert "config.wsgi" in line
    assert _flag(line, "--workers") == "${GUNICORN_WORKERS:-3}"
    assert _flag(line, "--timeout") == "120"
    assert _flag(line, "--access-logfile") == "-"


def test_web_migrates_then_runs_the_same_gunicorn_line_as_the_image():
    command = _command(_service("web"))
    assert re.search(r"manage\.py migrate --noinput\s*&&\s*exec gunicorn", command)
    # In compose, $$ hands ${GUNICORN_WORKERS:-3} to the container's shell, as the CMD does.
    assert _gunicorn_line(command.replace("$$", "$")) == _gunicorn_line(_image_command())


def test_gunicorn_binds_the_port_the_image_exposes_and_compose_publishes():
    bind_port = _flag(_gunicorn_line(_image_command()), "--bind").rsplit(":", 1)[1]
    assert _stage_args(_runtime_stage(), "EXPOSE") == [bind_port]
    published = [str(port).rsplit(":", 1)[1] for port in _service("web")["ports"]]
    assert published == [bind_port]


# --- web healthcheck: the exact script, run against the app ----------------------------------


class _DjangoConnection:
    """http.client.HTTPConnection replaced by Django's test client, recording the target."""

    opened: list[tuple[str, int]] = []

    def __init__(self, host, port, timeout=None):
        self.opened.append((host, port))
        self._response = None

    def request(self, method, path, headers=None):
        meta = {"HTTP_" + k.upper().replace("-", "_"): v for k, v in (headers or {}).items()}
        self._response = Client().generic(method, path, **meta)

    def getresponse(self):
        return type("Response", (), {"status": self._response.status_code})()


def _run_web_healthcheck(monkeypatch, allowed_hosts: str) -> int:
    test = _healthcheck_test(_service("web"))
    assert test[:3] == ["CMD", "python", "-c"]
    import http.client

    monkeypatch.setattr(http.client, "HTTPConnection", _DjangoConnection)
    monkeypatch.setenv("ALLOWED_HOSTS", allowed_hosts)
    _DjangoConnection.opened = []
    try:
        exec(compile(test[3], "web-healthcheck", "exec"), {"__name__": "__main__"})
    except SystemExit as exit_:
        return exit_.code
    return 0


@pytest.fixture(scope="module")
def example_settings() -> dict:
    """The settings a container gets from .env.example plus the image's ENV, in production
    mode, loaded in a fresh interpreter through the settings' own typed readers."""
    active, _ = _env_example()
    env = {k: v for k, v in os.environ.items() if k not in _settings_env_names()}
    env.update(active)
    env.update(_dockerfile_env(_runtime_stage()))
    env["PATH"] = os.environ["PATH"]
    script = (
        "import json\n"
        "from django.conf import settings as s\n"
        "db = s.DATABASES['default']\n"
        "print(json.dumps({\n"
        "    'DEBUG': s.DEBUG, 'ENGINE': db['ENGINE'], 'HOST': db['HOST'],\n"
        "    'EAGER': s.CELERY_TASK_ALWAYS_EAGER, 'BROKER': s.CELERY_BROKER_URL,\n"
        "    'MEDIA_ROOT': str(s.MEDIA_ROOT), 'ALLOWED_HOSTS': s.ALLOWED_HOSTS,\n"
        "    'SECURE_SSL_REDIRECT': s.SECURE_SSL_REDIRECT,\n"
        "    'SECURE_PROXY_SSL_HEADER': getattr(s, 'SECURE_PROXY_SSL_HEADER', None),\n"
        "    'EMAIL_BACKEND': s.EMAIL_BACKEND,\n"
        "}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_env_example_loads_production_settings_on_postgres_and_the_redis_broker(
    example_settings,
):
    assert example_settings["DEBUG"] is False
    assert example_settings["ENGINE"] == "django.db.backends.postgresql"
    assert example_settings["HOST"] == "db"
    assert example_settings["EAGER"] is False
    assert urllib.parse.urlsplit(example_settings["BROKER"]).hostname == "redis"
    assert example_settings["MEDIA_ROOT"] == _dockerfile_env(_runtime_stage())["PRIVATE_MEDIA_ROOT"]
    assert example_settings["EMAIL_BACKEND"].endswith("smtp.EmailBackend")


def _production(example_settings, **overrides):
    values = {
        "DEBUG": False,
        "ALLOWED_HOSTS": example_settings["ALLOWED_HOSTS"],
        "SECURE_SSL_REDIRECT": example_settings["SECURE_SSL_REDIRECT"],
        "SECURE_PROXY_SSL_HEADER": (
            tuple(example_settings["SECURE_PROXY_SSL_HEADER"])
            if example_settings["SECURE_PROXY_SSL_HEADER"]
            else None
        ),
    }
    values.update(overrides)
    return override_settings(**values)


@pytest.mark.django_db
def test_web_healthcheck_gets_the_health_page_under_the_env_example_settings(
    monkeypatch, example_settings
):
    assert example_settings["SECURE_SSL_REDIRECT"] is True
    active, _ = _env_example()
    with _production(example_settings):
        code = _run_web_healthcheck(monkeypatch, active["ALLOWED_HOSTS"])
    assert code == 0
    port = _flag(_gunicorn_line(_image_command()), "--bind").rsplit(":", 1)[1]
    assert _DjangoConnection.opened == [("127.0.0.1", int(port))]
    assert "/healthz/" in _healthcheck_test(_service("web"))[3]
    assert reverse("healthz") == "/healthz/"


@pytest.mark.django_db
def test_web_healthcheck_needs_no_proxy_header_as_healthz_is_exempt_from_the_tls_redirect(
    monkeypatch, example_settings, client
):
    active, _ = _env_example()
    host = active["ALLOWED_HOSTS"].split(",")[0].strip()
    with _production(example_settings, SECURE_PROXY_SSL_HEADER=None):
        code = _run_web_healthcheck(monkeypatch, active["ALLOWED_HOSTS"])
        # Any other page would be redirected to HTTPS without the proxy's header.
        assert client.get("/accounts/login/", HTTP_HOST=host).status_code == 301
    assert code == 0


# --- Variables: compose, .env.example and the settings ---------------------------------------


def test_variables_compose_substitutes_are_read_by_settings_or_by_containers_only():
    names = set()
    for value in _strings(_compose()):
        names |= _compose_interpolated(value)
    assert names, "compose substitutes no variable at all"
    unknown = {n for n in names if not (_settings_reads(n) or _container_only(n))}
    assert not unknown, f"compose substitutes variables nothing reads: {sorted(unknown)}"


def test_variables_left_to_the_containers_shell_are_known():
    names = set()
    for value in _strings(_compose()):
        names |= _container_expanded(value)
    unknown = {
        n for n in names if not (_settings_reads(n) or _container_only(n) or n in DOCKER_PROVIDED)
    }
    assert not unknown, sorted(unknown)


def test_env_example_names_are_read_by_settings_or_by_containers_only():
    active, optional = _env_example()
    unknown = {
        n for n in active.keys() | optional if not (_settings_reads(n) or _container_only(n))
    }
    assert not unknown, f".env.example names variables nothing reads: {sorted(unknown)}"


def test_env_example_documents_every_variable_settings_read_and_compose_substitutes():
    active, optional = _env_example()
    documented = active.keys() | optional
    compose_names = set()
    for value in _strings(_compose()):
        compose_names |= _compose_interpolated(value) | _container_expanded(value)
    wanted = _settings_env_names() | (compose_names - DOCKER_PROVIDED)
    missing = wanted - documented
    assert not missing, f".env.example does not mention {sorted(missing)}"


def test_env_example_sets_what_production_cannot_do_without():
    active, _ = _env_example()
    for name in (
        "SECRET_KEY",
        "DEBUG",
        "DATABASE_URL",
        "REDIS_URL",
        "ALLOWED_HOSTS",
        "CSRF_TRUSTED_ORIGINS",
        "SITE_URL",
        "POSTGRES_USER",
        "POSTGRES_PASSWORD",
        "POSTGRES_DB",
        "EMAIL_HOST",
    ):
        assert active.get(name), f"{name} is not set in .env.example"
    assert active["DEBUG"] == "false"
    assert "请替换" in active["SECRET_KEY"]
    assert "请替换" in active["POSTGRES_PASSWORD"]
    assert "$" not in "".join(active.values()), "compose would expand a $ in .env"


def test_env_example_database_url_matches_the_postgres_service_credentials():
    active, _ = _env_example()
    url = urllib.parse.urlsplit(active["DATABASE_URL"])
    assert url.scheme in {"postgres", "postgresql"}
    assert url.hostname == "db"
    assert url.port == 5432
    assert url.username == active["POSTGRES_USER"]
    assert urllib.parse.unquote(url.password) == active["POSTGRES_PASSWORD"]
    assert url.path.lstrip("/") == active["POSTGRES_DB"]
    assert urllib.parse.urlsplit(active["REDIS_URL"]).hostname == "redis"


def test_env_example_does_not_move_the_private_folder_away_from_the_volume():
    active, _ = _env_example()
    image_root = _dockerfile_env(_runtime_stage())["PRIVATE_MEDIA_ROOT"]
    assert active.get("PRIVATE_MEDIA_ROOT", image_root) == image_root


def test_dockerfile_env_names_are_read_by_settings_or_by_the_runtime():
    runtime = {"PATH", "DJANGO_SETTINGS_MODULE"}
    for stage in _dockerfile_stages():
        for name in _dockerfile_env(stage):
            assert (
                _settings_reads(name)
                or name in runtime
                or name.startswith(("PYTHON", "PIP_"))
                or _container_only(name)
            ), name


# --- Dockerfile ------------------------------------------------------------------------------


def _system_deps_packages() -> set[str]:
    match = re.search(r"packages=\(([^)]*)\)", SYSTEM_DEPS.read_text(encoding="utf-8"))
    assert match, "scripts/system-deps.sh has no packages=(...) array"
    return set(match.group(1).split())


def test_every_stage_builds_on_python_311_slim_bookworm():
    stages = _dockerfile_stages()
    assert len(stages) >= 2, "Node.js must stay in a build stage of its own"
    assert {stage["base"] for stage in stages} == {"python:3.11-slim-bookworm"}


def test_the_runtime_image_installs_every_system_package_but_the_browser_and_node():
    wanted = _system_deps_packages() - NOT_IN_RUNTIME_IMAGE
    assert {"libharfbuzz-subset0", "fonts-noto-cjk"} <= wanted
    missing = wanted - _apt_packages(_runtime_stage())
    assert not missing, f"the runtime image lacks {sorted(missing)}"


def test_node_and_npm_are_only_in_a_build_stage():
    assert not _apt_packages(_runtime_stage()) & NOT_IN_RUNTIME_IMAGE
    builders = [s for s in _dockerfile_stages()[:-1] if {"nodejs", "npm"} <= _apt_packages(s)]
    assert builders, "no build stage installs nodejs and npm"


def test_the_image_copies_every_vendored_asset_the_makefile_copies():
    """Every front-end file `make setup` copies from node_modules into static/vendor/ is
    copied the same way in the image's assets stage, and the runtime stage takes that folder."""
    makefile = MAKEFILE.read_text(encoding="utf-8")
    dockerfile = DOCKERFILE.read_text(encoding="utf-8")
    sources = re.findall(r"^\tcp (node_modules/\S+) (static/vendor/\S+)", makefile, re.MULTILINE)
    assert {s for s, _ in sources} >= {
        "node_modules/echarts/dist/echarts.min.js",
        "node_modules/tom-select/dist/js/tom-select.complete.min.js",
    }
    for source, folder in sources:
        assert f"cp {source} {folder}" in dockerfile, source
    stage_names = {s["name"] for s in _dockerfile_stages()[:-1]}
    copies = [
        args
        for args in _stage_args(_runtime_stage(), "COPY")
        if args.startswith("--from=") and args.split()[0].split("=", 1)[1] in stage_names
    ]
    assert any(args.split()[-1].rstrip("/") == "static/vendor" for args in copies), copies
    assert "npm ci" in dockerfile


def test_the_image_collects_static_files_with_debug_off_and_a_throwaway_key():
    runs = " ".join(_stage_args(_runtime_stage(), "RUN"))
    match = re.search(r"SECRET_KEY=\S+\s+DEBUG=false\s+python manage\.py collectstatic", runs)
    assert match, "collectstatic must run at build time with DEBUG=false"


def test_the_image_runs_as_a_non_root_user_in_app():
    stage = _runtime_stage()
    users = _stage_args(stage, "USER")
    assert users and users[-1].split(":")[0] not in {"root", "0"}
    assert _stage_args(stage, "WORKDIR")[-1] == "/app"


def test_the_image_command_refers_to_gunicorn_and_config_wsgi():
    command = _image_command()
    assert "gunicorn" in command
    assert "config.wsgi" in command


def test_dockerignore_keeps_local_data_secrets_and_builds_out_of_the_image():
    patterns = {
        line.strip()
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    for needed in (
        ".venv",
        "node_modules",
        "db.sqlite3",
        "private",
        "var",
        "artifacts",
        ".git",
        "staticfiles",
        ".env",
    ):
        assert needed in patterns, needed
    assert any("__pycache__" in pattern for pattern in patterns)
