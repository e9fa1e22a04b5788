"""EventViz settings: 12-factor, every value from the environment (see .env.example)."""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from eventviz import embedded, logs, origins
from eventviz.env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = embedded.default_var_dir(BASE_DIR)

DEBUG = env_bool("DEBUG", False)

# Placeholders that were shipped in examples: long enough to pass every length check, and
# public. Django's own generated development keys start with "django-insecure-".
PLACEHOLDER_SECRET_KEYS = {
    "change-me-to-a-long-random-string-of-50-characters",
    "change-me",
    "changeme",
    "secret",
}

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    # A fresh checkout runs without configuration: keep a generated key under var/.
    key_file = embedded.private_dir(VAR_DIR) / "secret_key"
    if not key_file.exists() or not key_file.read_text().strip():
        import secrets

        embedded.write_private(key_file, secrets.token_urlsafe(50))
    embedded.private_file(key_file)  # tighten a key written by an older version
    SECRET_KEY = key_file.read_text().strip()
elif SECRET_KEY.strip().lower() in PLACEHOLDER_SECRET_KEYS or SECRET_KEY.startswith(
    "django-insecure-"
):
    raise ImproperlyConfigured(
        "SECRET_KEY is a published placeholder, not a secret. Unset it (a key is then "
        "generated into var/secret_key) or set your own: "
        "python3 -c 'import secrets; print(secrets.token_urlsafe(50))'"
    )
elif len(SECRET_KEY) < 32:
    raise ImproperlyConfigured("SECRET_KEY must be at least 32 characters long")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = origins.check_origin_setting(
    env_list("CSRF_TRUSTED_ORIGINS", []), "CSRF_TRUSTED_ORIGINS"
)
if "*" in ALLOWED_HOSTS:
    # '*' accepts any Host header, so a page on any domain that resolves here (DNS
    # rebinding) counts as this server's own origin for forms and websockets.
    if not DEBUG:
        raise ImproperlyConfigured(
            "ALLOWED_HOSTS='*' is refused with DEBUG off: name the host names this server "
            "answers to, e.g. ALLOWED_HOSTS=eventviz.example.com"
        )
    sys.stderr.write(
        "WARNING: ALLOWED_HOSTS='*' (DEBUG on): any Host header is accepted. "
        "Never serve this beyond your own machine.\n"
    )

# The port `make run` serves on; websocket origins default to it (eventviz/origins.py).
PORT = env_int("PORT", 8000, minimum=1)
# Websocket handshakes are accepted from the server's own origin and from these, matched
# on scheme, host and port exactly.
WEBSOCKET_ALLOWED_ORIGINS = origins.check_origin_setting(
    env_list(
        "ALLOWED_ORIGINS",
        [f"http://{host}:{PORT}" for host in ALLOWED_HOSTS if not host.startswith((".", "*"))]
        + CSRF_TRUSTED_ORIGINS,
    ),
    "ALLOWED_ORIGINS",
)

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "simple_history",
    "axes",
    "flows",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last, as django-axes asks: turns a locked-out login into its 429 page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "eventviz.urls"
ASGI_APPLICATION = "eventviz.asgi.application"
WSGI_APPLICATION = None

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
            ],
        },
    },
]

# --- database ---------------------------------------------------------------
_database_url = env_str("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'db.sqlite3'}"
try:
    DATABASES = {"default": dj_database_url.parse(_database_url, conn_max_age=60)}
except ValueError as exc:
    raise ImproperlyConfigured(f"DATABASE_URL={_database_url!r} is not usable: {exc}") from None
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    _sqlite = Path(DATABASES["default"]["NAME"])
    if _sqlite.parent == VAR_DIR or VAR_DIR in _sqlite.parents:
        # Sessions and password hashes: the file (an empty file is an empty database)
        # and its WAL/SHM files (SQLite gives them the database file's mode) are private.
        embedded.private_dir(_sqlite.parent)
        embedded.private_file(_sqlite)
        for _extra in (
            _sqlite.with_name(_sqlite.name + "-wal"),
            _sqlite.with_name(_sqlite.name + "-shm"),
        ):
            if _extra.exists():
                embedded.private_file(_extra)
    else:
        _sqlite.parent.mkdir(parents=True, exist_ok=True)
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # Workers and Daphne write concurrently: wait for the lock instead of failing.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- redis: broker, channel layer, live state -------------------------------
REDIS_EMBEDDED = not env_str("REDIS_URL")
REDIS_URL = env_str("REDIS_URL") or embedded.socket_url(VAR_DIR)
if not REDIS_URL.startswith(("redis://", "rediss://", "unix://")):
    raise ImproperlyConfigured(
        f"REDIS_URL={REDIS_URL!r} must start with redis://, rediss:// or unix://"
    )

CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {
            # channels-redis blocks up to 5 s on BZPOPMIN between messages; redis-py's
            # default 5 s socket timeout would race it and drop idle websockets.
            "hosts": [{"address": REDIS_URL, "socket_timeout": 30, "socket_connect_timeout": 5}],
            "prefix": "eventviz:asgi",
            "capacity": 1000,
            "expiry": 30,
        },
    }
}

CELERY_BROKER_URL = embedded.celery_broker_url(REDIS_URL)
CELERY_RESULT_BACKEND = CELERY_BROKER_URL
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_EXPIRES = 3600
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 4
CELERY_TASK_DEFAULT_QUEUE = "eventviz"

# --- auth, i18n, static -------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "/admin/login/"

# Login throttling (django-axes): after LOGIN_FAILURE_LIMIT wrong passwords for one user
# name from one address, that pair is locked out for LOGIN_LOCKOUT_MINUTES; a successful
# login clears the count. `manage.py axes_reset` lifts every lockout.
AUTHENTICATION_BACKENDS = [
    "eventviz.auth.LockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_LOCKOUT_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False  # no start-up banner in every process; failures are still logged

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
# WhiteNoise serves static files from the apps' and static/ folders directly (no
# collectstatic step); Daphne serves no static files by itself. Set STATIC_ROOT only to
# collect them for a proxy to serve.
STATIC_ROOT = env_str("STATIC_ROOT") or None
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# --- product ------------------------------------------------------------------
EVENTVIZ_SCENARIO_DIRS = [BASE_DIR / "flows" / "scenarios"]
EVENTVIZ_HEALTH_TIMEOUT = env_int("EVENTVIZ_HEALTH_TIMEOUT", 2, minimum=1)
# The AWS-compatible endpoint (/aws) answers unsigned requests for this topology (its
# slug); unset, every request must be signed with an API key.
EVENTVIZ_AWS_ANONYMOUS_TOPOLOGY = env_str("EVENTVIZ_AWS_ANONYMOUS_TOPOLOGY")

# OpenTelemetry: hops go as spans to this OTLP/HTTP collector (base URL, e.g.
# http://127.0.0.1:4318); unset, tracing costs nothing (flows/recorder/otlp.py).
OTEL_EXPORTER_OTLP_ENDPOINT = env_str("OTEL_EXPORTER_OTLP_ENDPOINT")
# /metrics answers staff sessions, and requests with "Authorization: Bearer <this>".
METRICS_TOKEN = env_str("METRICS_TOKEN")

# Every /healthz caller within this many seconds shares one check (flows/health.py).
EVENTVIZ_HEALTH_CACHE_SECONDS = 2

# The websocket (README, "Websocket protocol"): no server frame is larger than
# WS_FRAME_MAX bytes (Daphne refuses payloads over 1 MiB); a socket's transport holds at
# most WS_SEND_BUFFER unread bytes, and a client that does not read them within
# WS_DRAIN_TIMEOUT seconds is closed (4008); above WS_HOP_BUDGET hops a second, dashboards
# get a declared sample of the hop events.
EVENTVIZ_WS_FRAME_MAX = env_int("EVENTVIZ_WS_FRAME_MAX", 256 * 1024, minimum=16 * 1024)
EVENTVIZ_WS_SEND_BUFFER = env_int("EVENTVIZ_WS_SEND_BUFFER", 1024 * 1024, minimum=64 * 1024)
EVENTVIZ_WS_DRAIN_TIMEOUT = env_int("EVENTVIZ_WS_DRAIN_TIMEOUT", 10, minimum=1)
EVENTVIZ_WS_HOP_BUDGET = env_int("EVENTVIZ_WS_HOP_BUDGET", 5000, minimum=100)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "not_a_health_answer": {
            "()": "django.utils.log.CallbackFilter",
            "callback": logs.not_a_health_answer,
        }
    },
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO").upper()},
    "loggers": {
        "daphne": {"level": "WARNING"},
        "django.request": {"filters": ["not_a_health_answer"]},
    },
}
