"""Settings of the reform-pilot registry, read from the environment.

Defaults give a working demo with nothing installed: SQLite in the project folder, Celery
tasks run eagerly in-process, e-mail written to files. Production sets DATABASE_URL,
REDIS_URL, SECRET_KEY, DEBUG=false and ALLOWED_HOSTS.
"""

from __future__ import annotations

import datetime
from pathlib import Path

import dj_database_url

from config.env import ImproperlyConfiguredEnv, env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", True)
# Django's technical error pages (with DEBUG on) only when a developer asks for them.
DEBUG_ERROR_PAGES = env_bool("DEBUG_ERROR_PAGES", False)
SECRET_KEY = env_str("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfiguredEnv("SECRET_KEY must be set when DEBUG is false")
    SECRET_KEY = "dev-only-insecure-key-change-me-in-production-0123456789"
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "simple_history",
    "django_celery_beat",
    "csp",
    "axes",
    "accounts",
    "pilots",
    "ledger",
    "reviews",
    "dashboards",
    "core",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "api",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Before anything reads the request or touches the database: control characters in the
    # path, query, form, JSON body or headers are refused here, bidi controls removed.
    "core.middleware.RequestEdgeMiddleware",
    # Static files (CSS, JS, ECharts) straight from gunicorn, compressed and cached.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # After WhiteNoise (static files keep their caching): signed-in answers are not stored.
    "config.headers.NoStoreMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # With DEBUG on, the product's error pages instead of Django's technical ones.
    "core.error_pages.ProductErrorPagesMiddleware",
    "accounts.middleware.SessionTimeoutMiddleware",
    # The auditor reads the audit log and nothing else (denied by default, by URL name).
    "accounts.auditor.AuditorOnlyReadsTheLogMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "accounts.middleware.AuditDownloadsMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "dashboards.context_processors.organisation",
                "pilots.rules.rule_numbers",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60, minimum=0),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A demo on SQLite serves a few users at once; waiting on a write lock beats failing.
    # IMMEDIATE: a transaction takes the write lock when it begins, so concurrent writers wait
    # their turn instead of failing with "database is locked" when they upgrade.
    DATABASES["default"].setdefault("OPTIONS", {}).update(timeout=20, transaction_mode="IMMEDIATE")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

# Argon2id first: memory-hard, and about half the CPU of Django's PBKDF2 (1,000,000 rounds) per
# sign-in, which matters when a whole province signs in before a deadline. Older hashes still
# verify and are rehashed with Argon2 at the next sign-in.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": env_int("PASSWORD_MIN_LENGTH", 10, minimum=10)},
    },
    {"NAME": "accounts.validators.CharacterClassesValidator", "OPTIONS": {"min_classes": 3}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# django-axes first: a locked-out user and address is refused before the password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文")]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True
LOCALE_PATHS = [BASE_DIR / "locale"]

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
# In development the files are served from their sources; in production from STATIC_ROOT
# (collected when the image is built).
WHITENOISE_USE_FINDERS = DEBUG
# Files browsers ask for at the site's root (favicon.ico), served like the static files.
WHITENOISE_ROOT = BASE_DIR / "static" / "root"
# Uploaded files (pilot plans, attachments) are private: they live outside any served URL and
# are only streamed by permission-checked views.
MEDIA_ROOT = Path(env_str("PRIVATE_MEDIA_ROOT", str(BASE_DIR / "private")))
MEDIA_URL = "/files/"
STORAGES = {
    "default": {"BACKEND": "accounts.storage.AuditedPrivateStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# With several hosts the private files live in an S3-compatible bucket that every web and
# worker process reads (docs/deployment.md, 对象存储); MEDIA_ROOT is then not used. Objects
# are private and never linked to: downloads are streamed by the permission-checked views.
S3_BUCKET = env_str("S3_BUCKET", "")
S3_ADDRESSING_STYLE = env_str("S3_ADDRESSING_STYLE", "auto")
if S3_ADDRESSING_STYLE not in {"auto", "path", "virtual"}:
    raise ImproperlyConfiguredEnv(
        f"S3_ADDRESSING_STYLE must be auto, path or virtual, got {S3_ADDRESSING_STYLE!r}"
    )
if S3_BUCKET:
    S3_ENDPOINT_URL = env_str("S3_ENDPOINT_URL", "")
    if S3_ENDPOINT_URL and not S3_ENDPOINT_URL.startswith(("https://", "http://")):
        raise ImproperlyConfiguredEnv(
            f"S3_ENDPOINT_URL must start with https:// or http://, got {S3_ENDPOINT_URL!r}"
        )
    STORAGES["default"] = {
        "BACKEND": "accounts.storage_s3.AuditedS3Storage",
        "OPTIONS": {
            "bucket_name": S3_BUCKET,
            # Empty: AWS itself; otherwise the address of MinIO, OSS, COS, OBS …
            "endpoint_url": S3_ENDPOINT_URL or None,
            "region_name": env_str("S3_REGION", "") or None,
            # Empty: boto3's own chain (instance role, AWS_* variables).
            "access_key": env_str("S3_ACCESS_KEY_ID", "") or None,
            "secret_key": env_str("S3_SECRET_ACCESS_KEY", "") or None,
            # Objects are stored under this prefix, so one bucket can hold several registries.
            "location": env_str("S3_PREFIX", "").strip("/"),
            "addressing_style": S3_ADDRESSING_STYLE,
        },
    }
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
UPLOAD_MAX_BYTES = env_int("UPLOAD_MAX_BYTES", 20 * 1024 * 1024, minimum=1024)

# Sessions live in the database so that pages never need Redis. A session ends after
# SESSION_IDLE_TIMEOUT seconds without a request and, whatever happens, SESSION_COOKIE_AGE
# seconds after sign-in (its absolute lifetime).
SESSION_ENGINE = "django.contrib.sessions.backends.db"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 8 * 3600, minimum=60)
SESSION_IDLE_TIMEOUT = env_int("SESSION_IDLE_TIMEOUT", 30 * 60, minimum=60)
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"

REDIS_URL = env_str("REDIS_URL", "")
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
if REDIS_URL:
    # Shared by every worker process. Short timeouts: a page whose cache is down computes what
    # it needs instead of waiting (callers treat a cache error as a miss).
    CACHES["default"] = {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "registry",
        "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
    }
# The dashboard's figures are recomputed at most once in this many seconds per role and unit
# (and per process); the page says when they were computed. 0 computes them at every request.
DASHBOARD_CACHE_SECONDS = env_int("DASHBOARD_CACHE_SECONDS", 60, minimum=0)

# Celery: with no broker configured, tasks run eagerly in the request's process.
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = TIME_ZONE
# A change's reason (a return or rejection reason, an import batch) is stored whole: the
# history's reason column is text, not simple-history's default of 100 characters.
SIMPLE_HISTORY_HISTORY_CHANGE_REASON_USE_TEXT_FIELD = True
# Exactly one beat: config.beat's scheduler takes a lock and refuses to run beside another.
CELERY_BEAT_SCHEDULER = "config.beat:SingleBeatScheduler"
# Heavy, long tasks (PDF ledgers of a whole province): a hard limit per task, and Redis must
# not hand an unacknowledged task to another worker before that limit has passed.
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 55 * 60, minimum=60)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 60 * 60, minimum=60)
# A PDF ledger "生成中" or "排队中" longer than this many minutes was lost with its worker (a
# live render is killed at CELERY_TASK_TIME_LIMIT): the render job and a starting worker
# queue it again. A job run "运行中" as long is closed as failed. Never below the limit.
LEDGER_RENDER_STALE_MINUTES = max(
    env_int("LEDGER_RENDER_STALE_MINUTES", 90, minimum=1), CELERY_TASK_TIME_LIMIT // 60 + 1
)
JOB_RUN_STALE_MINUTES = max(
    env_int("JOB_RUN_STALE_MINUTES", 90, minimum=1), CELERY_TASK_TIME_LIMIT // 60 + 1
)
# A PDF ledger of more than one part is printed by this many worker processes at once (0: one
# per core; 1: in the process that renders), each allowed this many MB of memory beyond what
# it holds once started (ledger/pdf_parts.py).
LEDGER_PDF_PROCESSES = env_int("LEDGER_PDF_PROCESSES", 0, minimum=0)
LEDGER_PDF_PROCESS_MEMORY_MB = env_int("LEDGER_PDF_PROCESS_MEMORY_MB", 400, minimum=100)
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 2 * 60 * 60, minimum=60),
}
# WeasyPrint keeps memory per page until the process ends: recycle a worker process once it
# holds this many kilobytes (the task in hand finishes first).
CELERY_WORKER_MAX_MEMORY_PER_CHILD = env_int("CELERY_MAX_MEMORY_KB", 400_000, minimum=50_000)
CELERY_WORKER_MAX_TASKS_PER_CHILD = env_int("CELERY_MAX_TASKS_PER_CHILD", 200, minimum=1)

EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.filebased.EmailBackend")
EMAIL_FILE_PATH = Path(env_str("EMAIL_FILE_PATH", str(BASE_DIR / "var" / "mail")))
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "改革试点台账 <noreply@localhost>")

# --- The regulation's open numbers (DOMAIN rules), shown to the office on /rules/ ---------
# Pilot codes read PREFIX-YEAR-SERIAL (ST-2026-0001): two to six capital letters.
PILOT_CODE_PREFIX = env_str("PILOT_CODE_PREFIX", "ST")
if not (2 <= len(PILOT_CODE_PREFIX) <= 6 and PILOT_CODE_PREFIX.isascii()) or not (
    PILOT_CODE_PREFIX.isalpha() and PILOT_CODE_PREFIX.isupper()
):
    raise ImproperlyConfiguredEnv("PILOT_CODE_PREFIX 须为2至6个大写英文字母，例如 ST。")
# R2.2: a new pilot is filed within one week of approval.
PILOT_FILING_DAYS = env_int("PILOT_FILING_DAYS", 7, minimum=1)
# R1.3: overlap flags recorded per check (best first): a screener judges a few, not a list.
OVERLAP_MAX_FLAGS = env_int("OVERLAP_MAX_FLAGS", 5, minimum=1)
# R2.3: quarterly progress is due this many days after the quarter ends.
PILOT_QUARTERLY_DUE_DAYS = env_int("PILOT_QUARTERLY_DUE_DAYS", 10, minimum=0)
# R2.3: the half-year summary is due this many days after the half year ends.
PILOT_HALF_YEAR_DUE_DAYS = env_int("PILOT_HALF_YEAR_DUE_DAYS", 15, minimum=0)
# R2.4: an expired pilot with neither closure nor extension is purged after this grace.
PILOT_PURGE_GRACE_DAYS = env_int("PILOT_PURGE_GRACE_DAYS", 30, minimum=0)
# R3.2: the acceptance (summary) report is due this many months after the term ends.
PILOT_ACCEPTANCE_REPORT_MONTHS = env_int("PILOT_ACCEPTANCE_REPORT_MONTHS", 2, minimum=1)
# R4.1: the most points one bonus entry may award (or take back, as a correction).
REVIEW_BONUS_MAX_POINTS = env_int("REVIEW_BONUS_MAX_POINTS", 10, minimum=1)
# R3.2: the most a scorecard gives work effort, innovation and results, in percent of the score
# (the demonstration-zone rules: at most 25%).
REVIEW_EFFORT_SHARE_MAX = env_int("REVIEW_EFFORT_SHARE_MAX", 25, minimum=0)
# R2.4: closure may be reported from this many days before the end date.
PILOT_CLOSURE_WINDOW_DAYS = env_int("PILOT_CLOSURE_WINDOW_DAYS", 30, minimum=0)
# Reminders go out this many days before each deadline (R2.2–R3.2), once per deadline.
PILOT_REMINDER_DAYS = sorted(
    {int(d) for d in env_list("PILOT_REMINDER_DAYS", ["7", "1"]) if d.isdigit() and int(d) > 0},
    reverse=True,
) or [7, 1]
# N3: applications a prefecture may endorse in one call, unless the call says otherwise.
CALL_DEFAULT_PREFECTURE_QUOTA = env_int("CALL_DEFAULT_PREFECTURE_QUOTA", 2, minimum=1)

PAGINATE_BY = env_int("PAGINATE_BY", 50, minimum=5)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    # WeasyPrint narrates every layout step at INFO.
    "loggers": {
        "weasyprint.progress": {"level": "WARNING"},
        # Failed logins are in the audit log; django-axes narrates each one at INFO.
        "axes": {"level": "WARNING"},
    },
}

# Absolute address of the site, for links in e-mails.
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

# Notice channels (accounts/channels.py): the key that encrypts the robots' webhook addresses
# and secrets (empty: derived from SECRET_KEY; changing either makes them unreadable, to be
# entered again), the seconds between delivery attempts (one more try than waits), and the
# seconds a robot or mail server may take to answer.
CHANNEL_SECRET_KEY = env_str("CHANNEL_SECRET_KEY", "")
CHANNEL_RETRY_DELAYS = [
    int(d) for d in env_list("CHANNEL_RETRY_DELAYS", ["60", "300", "900", "3600"]) if d.isdigit()
]
CHANNEL_TIMEOUT = env_int("CHANNEL_TIMEOUT", 10, minimum=1)
# The hosts a robot's webhook may point at, https only: DingTalk's and WeCom's. An entry with a
# scheme (http://127.0.0.1) allows that scheme and host on any port: for a stand-in robot.
CHANNEL_WEBHOOK_HOSTS = env_list(
    "CHANNEL_WEBHOOK_HOSTS", ["oapi.dingtalk.com", "qyapi.weixin.qq.com"]
)

# --- REST API (v1) ----------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # The token comes first so that an anonymous request answers 401 with its scheme.
        "api.auth.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "api.pagination.Pagination",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PARSER_CLASSES": [
        "rest_framework.parsers.JSONParser",
        "rest_framework.parsers.MultiPartParser",
        "rest_framework.parsers.FormParser",
    ],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "api.errors.exception_handler",
    "DATETIME_FORMAT": "iso-8601",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "改革试点台账 REST API",
    "DESCRIPTION": (
        "生态文明领域改革试点台账的接口：单位、申报批次、试点（含申报）、备案、季度进展、半年汇总、"
        "销号、延期、总结验收报告、评估、督察和通知，以及申报、推荐、批复、备案、报送、销号、延期等"
        "工作流操作。权限与页面相同；错误以 JSON 返回中文说明。"
    ),
    "VERSION": "v1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "ENUM_NAME_OVERRIDES": {
        "OrganisationKindEnum": "accounts.constants.OrgKind",
        "ReformFieldEnum": "pilots.constants.ReformField",
        "PilotKindEnum": "pilots.constants.PilotKind",
        "PilotStatusEnum": "pilots.constants.Status",
        "FilingStatusEnum": "ledger.constants.FilingStatus",
        "SummaryStatusEnum": "ledger.constants.SummaryStatus",
        "TermRequestStatusEnum": "pilots.constants.TermRequestStatus",
    },
}
API_TOKENS_PER_USER = env_int("API_TOKENS_PER_USER", 5, minimum=1)
# A personal API token stops working this many days after it is issued.
API_TOKEN_DAYS = env_int("API_TOKEN_DAYS", 180, minimum=1)

# --- Security headers, cookies and TLS ---------------------------------------------------------
# Behind TLS in production (DEBUG=false) cookies are secure and HSTS is sent; set
# SECURE_PROXY_SSL_HEADER_ENABLED=true when a reverse proxy terminates TLS and sets
# X-Forwarded-Proto.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_HTTPONLY = True
CSRF_FAILURE_VIEW = "core.error_pages.csrf_failure"
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
if env_bool("SECURE_PROXY_SSL_HEADER_ENABLED", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_REDIRECT_EXEMPT = [r"^healthz/$"]

# Content Security Policy (django-csp): scripts and styles only from the product itself; no
# inline script anywhere; data: only for images and fonts the charts and API docs draw.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        # Style attributes set by the charts and Swagger UI at run time; they cannot run code.
        # Style elements and every script stay restricted to the product's own files.
        "style-src-attr": ["'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# --- Failed logins (django-axes) ----------------------------------------------------------------
# AXES_FAILURE_LIMIT failures of one user name from one address lock that pair for
# AXES_COOLOFF_MINUTES; other users behind the same address (a government network's NAT)
# sign in as usual. Attempts are kept in the database.
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = datetime.timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 30, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_VERBOSE = False
# The number of trusted reverse proxies in front of the application: the client is the
# rightmost X-Forwarded-For entry they did not write (accounts/network.py), for throttling
# and for the audit log alike; 0 reads REMOTE_ADDR only.
AXES_IPWARE_PROXY_COUNT = env_int("AXES_PROXY_COUNT", 0, minimum=0)
AXES_CLIENT_IP_CALLABLE = "accounts.network.client_ip"

# --- Audit log ----------------------------------------------------------------------------------
# Audit events are never deleted by the product; they are kept at least this many days (the
# floor of MLPS level 2), which is what an operator's archiving must respect.
AUDIT_RETENTION_DAYS = env_int("AUDIT_RETENTION_DAYS", 180, minimum=180)
