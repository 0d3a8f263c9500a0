"""LeadFlow settings: one module, read from the environment.

With nothing set it runs on an embedded default (SQLite file, Celery tasks executed
in-process), so a newcomer's first command works on a machine with only Python.
``DATABASE_URL`` and ``CELERY_BROKER_URL`` switch to PostgreSQL and Redis.
Bad values fail loudly at start-up (django-environ raises on an unparsable bool/int).
"""

from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

DEBUG = env.bool("DEBUG", default=False)

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY is required when DEBUG is off (set DEBUG=true for development).")
    SECRET_KEY = "django-insecure-development-only-key-never-use-in-production"

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",  # OpClass in index expressions (the search trigram indexes); harmless on SQLite
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "leads",
    "scoring",
    "routing",
    "dedupe",
    "reports",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "leadflow.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "leadflow.urls"
WSGI_APPLICATION = "leadflow.wsgi.application"

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
                "leads.context_processors.roles",
                "routing.context_processors.notifications",
            ],
        },
    },
]
# Django's renderer, with plain <input> widgets written in Python (same markup; leadflow/widgets.py).
FORM_RENDERER = "leadflow.widgets.FastFormRenderer"

# Database: SQLite file by default; DATABASE_URL (postgres://...) for PostgreSQL.
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The cache counts per-source intake rates; with several web processes point it at Redis
# (CACHE_URL=redis://host:6379/1) so they share one count.
CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://")}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
# Sessions end this long after sign-in (a working day by default), and with the browser when asked.
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=12 * 3600)
SESSION_EXPIRE_AT_BROWSER_CLOSE = env.bool("SESSION_EXPIRE_AT_BROWSER_CLOSE", default=False)
# API tokens are refused (401) once this many seconds old; POST /api/auth/token/rotate/ issues a new one.
API_TOKEN_TTL = env.int("API_TOKEN_TTL", default=30 * 24 * 3600)
# Failed sign-ins per username and address before that pair must wait LOGIN_LOCKOUT_SECONDS.
LOGIN_MAX_FAILURES = env.int("LOGIN_MAX_FAILURES", default=5)
LOGIN_LOCKOUT_SECONDS = env.int("LOGIN_LOCKOUT_SECONDS", default=15 * 60)
# A rotated source key keeps working this many hours beside the new one (0: it stops at once).
SOURCE_KEY_GRACE_HOURS = env.int("SOURCE_KEY_GRACE_HOURS", default=24)
if SOURCE_KEY_GRACE_HOURS < 0:
    raise ImproperlyConfigured("SOURCE_KEY_GRACE_HOURS must be 0 or more.")
for _name in ("SESSION_COOKIE_AGE", "API_TOKEN_TTL", "LOGIN_MAX_FAILURES", "LOGIN_LOCKOUT_SECONDS"):
    if globals()[_name] < 1:
        raise ImproperlyConfigured(f"{_name} must be at least 1.")
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATICFILES_MANIFEST = env.bool("STATICFILES_MANIFEST", default=not DEBUG)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        # Production serves hashed, compressed files after collectstatic; development and tests
        # read them straight from static/.
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if STATICFILES_MANIFEST
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
# Without collectstatic (development, tests) WhiteNoise serves straight from static/.
WHITENOISE_USE_FINDERS = not STATICFILES_MANIFEST
WHITENOISE_AUTOREFRESH = not STATICFILES_MANIFEST
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")
MEDIA_URL = "media/"

# Celery: without a broker, tasks run in-process (eagerly) so development needs no Redis.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not CELERY_BROKER_URL)
CELERY_BROKER_URL = CELERY_BROKER_URL or "memory://localhost/"
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_TASK_DEFAULT_QUEUE", default="celery")
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=15 * 60)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=14 * 60)
# A broker that is down at start-up or goes away (a Redis restart) is waited for, not fatal; the
# sweeper re-drives whatever the restart lost (tests/faults/).
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_RETRY = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)}
CELERY_BEAT_SCHEDULE = {
    "pipeline-sweep": {"task": "leads.tasks.pipeline_sweep_task", "schedule": env.int("PIPELINE_SWEEP_SECONDS", 60)},
    # Celery's clock is UTC (no CELERY_TIMEZONE), so this is 03:00 UTC whatever TIME_ZONE says.
    "rescore-decay": {"task": "scoring.tasks.rescore_decay_task", "schedule": crontab(hour=3, minute=0)},
    # Leads waiting in overflow go to reps as they free up, hottest first.
    "overflow-drain": {"task": "routing.tasks.overflow_drain_task", "schedule": 60},
    # Recycled leads whose revisit date has come: a notice, a rescore, and the inbox's "Due for revisit".
    "lifecycle-revisit": {"task": "leads.tasks.leads_revisit_due_task", "schedule": crontab(hour=6, minute=0)},
    # Leads whose SLA lapsed are reassigned or escalated to the territory manager.
    "sla-sweep": {"task": "routing.tasks.sla_sweep_task", "schedule": env.int("SLA_SWEEP_SECONDS", 60)},
    # The reports' roll-ups: fold the rows of changes the triggers append into one row per key.
    "reports-rollups-compact": {
        "task": "reports.tasks.rollups_compact_task",
        "schedule": env.int("REPORT_ROLLUPS_COMPACT_SECONDS", 300),
    },
}

# The intake pipeline.
PIPELINE_BATCH_SIZE = env.int("PIPELINE_BATCH_SIZE", default=500)
PIPELINE_STALE_SECONDS = env.int("PIPELINE_STALE_SECONDS", default=300)
IMPORT_CHUNK_ROWS = env.int("IMPORT_CHUNK_ROWS", default=1000)
# CSV exports: rows fetched per round trip through the server-side cursor (memory stays flat).
EXPORT_CHUNK_ROWS = env.int("EXPORT_CHUNK_ROWS", default=2000)
if EXPORT_CHUNK_ROWS < 1:
    raise ImproperlyConfigured("EXPORT_CHUNK_ROWS must be at least 1.")
IMPORT_MAX_BYTES = env.int("IMPORT_MAX_MB", default=100) * 1_000_000
# Rescoring open leads in the background (after a publish, and the daily decay): leads per chunk task.
RESCORE_CHUNK_SIZE = env.int("RESCORE_CHUNK_SIZE", default=1000)
if RESCORE_CHUNK_SIZE < 1:
    raise ImproperlyConfigured("RESCORE_CHUNK_SIZE must be at least 1.")
DATA_UPLOAD_MAX_MEMORY_SIZE = 5_000_000
FILE_UPLOAD_MAX_MEMORY_SIZE = 5_000_000

REST_FRAMEWORK = {
    # Token first: its challenge makes an anonymous call 401 (with WWW-Authenticate), not 403.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "leadflow.auth.ExpiringTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "leadflow.pagination.KeysetPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "leadflow.exceptions.api_exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "LeadFlow API",
    "DESCRIPTION": "Leads, accounts, sources, campaigns, lead definitions, territories and reps.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Choice sets whose field names repeat across models ("kind", "stage") get their own names.
    "ENUM_NAME_OVERRIDES": {
        "ReasonKindEnum": "leads.models.Reason.Kind",
        "OpportunityStageEnum": "leads.models.Opportunity.Stage",
        "StageEnum": "leads.models.Stage",
    },
}

# Production hardening: on unless DEBUG. Behind a TLS-terminating proxy set SECURE_PROXY_SSL_HEADER.
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (leadflow.middleware): every script and style is a file of our own, so no
# 'unsafe-inline'; frames are refused. Sent in development too, so a page that breaks it shows at once.
CONTENT_SECURITY_POLICY = env.str(
    "CONTENT_SECURITY_POLICY",
    default=(
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
        "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    ),
)
# Health checks come from inside the network, over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
if env.bool("USE_X_FORWARDED_PROTO", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}
