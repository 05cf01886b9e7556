"""meshview's one settings module, driven by environment variables.

Every variable is checked here, so a wrong value stops start-up with a message that names it.
Unset, meshview runs embedded: SQLite in WAL mode under the data directory, an in-memory
channel layer and a Celery broker on the filesystem, so nothing else needs to run.
"""

import os
import secrets
from pathlib import Path
from urllib.parse import unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

from meshview.mesh.gateways import EGRESS_GATEWAY, INGRESS_GATEWAY

PACKAGE_DIR = Path(__file__).resolve().parent
BASE_DIR = PACKAGE_DIR.parent


def _env(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def _data_dir() -> Path:
    raw = _env("MESHVIEW_DATA_DIR")
    if raw:
        path = Path(raw).expanduser()
    else:
        xdg = _env("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
        path = Path(xdg) / "meshview"
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ImproperlyConfigured(f"MESHVIEW_DATA_DIR: cannot create {path}: {exc.strerror}") from exc
    if not os.access(path, os.W_OK):
        raise ImproperlyConfigured(f"MESHVIEW_DATA_DIR: {path} is not writable")
    # The database, the broker's messages and the secret key are for meshview's user alone.
    if path.stat().st_uid == os.getuid() and path.stat().st_mode & 0o077:
        path.chmod(0o700)
    return path


def _database(url: str, data_dir: Path) -> dict:
    """Return Django's DATABASES entry for DATABASE_URL (sqlite:///path or postgresql://...)."""
    if not url:
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(data_dir / "meshview.sqlite3"),
            "TEST": {"NAME": str(data_dir / "test-meshview.sqlite3")},
            "OPTIONS": {
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;",
                "transaction_mode": "IMMEDIATE",
            },
        }
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        # sqlite:///relative.db and sqlite:////absolute/path.db, as dj-database-url reads them.
        name = unquote(parts.path[1:]) if parts.path.startswith("/") else unquote(parts.path)
        if not name:
            raise ImproperlyConfigured("DATABASE_URL: a sqlite URL needs a file path (sqlite:////path/db.sqlite3)")
        return {**_database("", data_dir), "NAME": name, "TEST": {"NAME": f"{name}.test"}}
    if parts.scheme in ("postgres", "postgresql"):
        database = unquote(parts.path.lstrip("/"))
        if not database:
            raise ImproperlyConfigured("DATABASE_URL: a postgresql URL needs a database name")
        try:
            port = parts.port
        except ValueError as exc:
            raise ImproperlyConfigured(f"DATABASE_URL: bad port in {url!r}") from exc
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": database,
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "",
            "PORT": str(port or ""),
            "CONN_MAX_AGE": 60,
            "CONN_HEALTH_CHECKS": True,
            # A graph groups tens of thousands of rollup rows by key: with PostgreSQL's 4 MB
            # default that aggregate sorts on disk (0.7-1 s for a 1,000-workload mesh) instead
            # of hashing in memory (0.2 s).
            "OPTIONS": {"options": "-c work_mem=32MB"},
            "TEST": {"NAME": f"test_{database}"},
        }
    raise ImproperlyConfigured(
        f"DATABASE_URL: unsupported scheme {parts.scheme!r} (use sqlite:///PATH or postgresql://USER@HOST/DB)"
    )


def _checked_url(name: str, schemes: tuple[str, ...]) -> str:
    value = _env(name)
    if value and (urlsplit(value).scheme not in schemes or not urlsplit(value).netloc):
        raise ImproperlyConfigured(f"{name}: {value!r} is not a {' or '.join(schemes)} URL")
    return value


def _secret_key(data_dir: Path) -> str:
    key = _env("MESHVIEW_SECRET_KEY")
    if key:
        if len(key) < 32:
            raise ImproperlyConfigured("MESHVIEW_SECRET_KEY: use at least 32 characters")
        return key
    # Embedded default: a key generated once per data directory, so sessions survive restarts.
    path = data_dir / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def _seconds(name: str, default: str) -> int:
    """Read a duration such as 7d, 36h, 90m or 3600 (seconds)."""
    raw = _env(name, default)
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    number, unit = (raw[:-1], raw[-1]) if raw[-1:] in units else (raw, "s")
    if not number.isdigit() or int(number) == 0:
        raise ImproperlyConfigured(f"{name}: {raw!r} is not a duration such as 7d, 36h, 90m or 3600")
    return int(number) * units[unit]


def _int(name: str, default: int, minimum: int = 1) -> int:
    raw = _env(name)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}: {raw!r} is not an integer") from None
    if value < minimum:
        raise ImproperlyConfigured(f"{name}: must be at least {minimum}")
    return value


MESHVIEW_DATA_DIR = _data_dir()
SECRET_KEY = _secret_key(MESHVIEW_DATA_DIR)
DEBUG = _env("MESHVIEW_DEBUG") == "1"
ALLOWED_HOSTS = [h.strip() for h in _env("MESHVIEW_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]").split(",") if h]
DATABASES = {"default": _database(_env("DATABASE_URL"), MESHVIEW_DATA_DIR)}
REDIS_URL = _checked_url("REDIS_URL", ("redis", "rediss"))
MESHVIEW_PROMETHEUS_URL = _checked_url("MESHVIEW_PROMETHEUS_URL", ("http", "https"))
# Set by `serve` from the address it binds: anonymous access only on loopback.
MESHVIEW_ANONYMOUS_ACCESS = False


def _anonymous() -> str:
    """MESHVIEW_ANONYMOUS: unset, anonymous access on loopback for requests that came through no
    reverse proxy; 1, on for every request (proxied too); 0, off."""
    value = _env("MESHVIEW_ANONYMOUS")
    if value not in ("", "0", "1"):
        raise ImproperlyConfigured(f"MESHVIEW_ANONYMOUS: {value!r} is not 0 or 1")
    return value


MESHVIEW_ANONYMOUS = _anonymous()


def _frontend_dir() -> Path:
    """The built browser app: MESHVIEW_FRONTEND_DIR when set, else the copy an installed wheel
    carries (meshview/ui, packed by setup.py), else a checkout's frontend/dist."""
    if _env("MESHVIEW_FRONTEND_DIR"):
        return Path(_env("MESHVIEW_FRONTEND_DIR")).expanduser()
    packed = PACKAGE_DIR / "ui"
    return packed if (packed / "index.html").is_file() else BASE_DIR / "frontend" / "dist"


MESHVIEW_FRONTEND_DIR = _frontend_dir()
MESHVIEW_MAX_BODY_BYTES = _int("MESHVIEW_MAX_BODY_BYTES", 16 * 1024 * 1024)
MESHVIEW_MAX_LINES_PER_REQUEST = _int("MESHVIEW_MAX_LINES_PER_REQUEST", 100_000)
# How long a server-side access-log record waits for its client-side twin (same x-request-id).
MESHVIEW_SETTLE_SECONDS = _int("MESHVIEW_SETTLE_SECONDS", 10)
MESHVIEW_TRACE_RETENTION_SECONDS = _seconds("MESHVIEW_TRACE_RETENTION", "7d")
MESHVIEW_TRAFFIC_RETENTION_SECONDS = _seconds("MESHVIEW_TRAFFIC_RETENTION", "7d")
# Traffic rollups by tier (each at most MESHVIEW_TRAFFIC_RETENTION): 10-second rows answer the
# ragged ends of recent windows, 1-minute and 10-minute rows those of older ones, hourly and
# daily rows the rest (Kiali offers windows up to 30 days).
MESHVIEW_TRAFFIC_RETENTION_10S_SECONDS = _seconds("MESHVIEW_TRAFFIC_RETENTION_10S", "1d")
MESHVIEW_TRAFFIC_RETENTION_1M_SECONDS = _seconds("MESHVIEW_TRAFFIC_RETENTION_1M", "7d")
MESHVIEW_TRAFFIC_RETENTION_10M_SECONDS = _seconds("MESHVIEW_TRAFFIC_RETENTION_10M", "7d")
MESHVIEW_TRAFFIC_RETENTION_1H_SECONDS = _seconds("MESHVIEW_TRAFFIC_RETENTION_1H", "30d")
MESHVIEW_TRAFFIC_RETENTION_1D_SECONDS = _seconds("MESHVIEW_TRAFFIC_RETENTION_1D", "30d")
# How long a span waits in the pairing store for its other half, and how many may wait.
MESHVIEW_SPAN_PAIR_SECONDS = _int("MESHVIEW_SPAN_PAIR_SECONDS", 10)
MESHVIEW_SPAN_PAIR_MAX = _int("MESHVIEW_SPAN_PAIR_MAX", 200_000)
# How long the database work of one read (a request, a websocket snapshot) may take.
MESHVIEW_QUERY_TIMEOUT_SECONDS = _seconds("MESHVIEW_QUERY_TIMEOUT", "30s")
# Most spans one answer (Jaeger's traces by id or search) may carry.
MESHVIEW_MAX_SPANS_PER_ANSWER = _int("MESHVIEW_MAX_SPANS_PER_ANSWER", 200_000)
MESHVIEW_MAX_CONCURRENT_EXPORTS = _int("MESHVIEW_MAX_CONCURRENT_EXPORTS", 8)
MESHVIEW_CLUSTER_NAME = _env("MESHVIEW_CLUSTER_NAME", "Kubernetes")
# How often beat evaluates the alert rules.
MESHVIEW_ALERT_INTERVAL_SECONDS = _seconds("MESHVIEW_ALERT_INTERVAL", "15s")
# Webhooks to loopback, link-local, private and multicast addresses are refused unless this is 1.
MESHVIEW_WEBHOOK_ALLOW_PRIVATE = _env("MESHVIEW_WEBHOOK_ALLOW_PRIVATE") == "1"
# The first retry of a failed delivery waits this long (ms); each later one twice as long.
MESHVIEW_WEBHOOK_RETRY_BASE_MS = _int("MESHVIEW_WEBHOOK_RETRY_BASE_MS", 2000)
# Where users reach meshview: the links in alerts and Alertmanager's externalURL.
MESHVIEW_EXTERNAL_URL = (_checked_url("MESHVIEW_EXTERNAL_URL", ("http", "https")) or "http://127.0.0.1:8000").rstrip("/")


def _gateways() -> dict[tuple[str, str], str]:
    """Gateways their labels do not reveal: MESHVIEW_INGRESS_GATEWAYS and
    MESHVIEW_EGRESS_GATEWAYS, each a comma-separated list of namespace/workload."""
    gateways = {}
    for name, role in (
        ("MESHVIEW_INGRESS_GATEWAYS", INGRESS_GATEWAY),
        ("MESHVIEW_EGRESS_GATEWAYS", EGRESS_GATEWAY),
    ):
        for item in filter(None, (i.strip() for i in _env(name).split(","))):
            namespace, slash, workload = item.partition("/")
            if not slash or not namespace or not workload:
                raise ImproperlyConfigured(f"{name}: {item!r} is not namespace/workload")
            gateways[(namespace, workload)] = role
    return gateways


MESHVIEW_GATEWAYS = _gateways()
# Unset: every namespace; else only these are shown in full (others are drawn inaccessible).
MESHVIEW_ACCESSIBLE_NAMESPACES = (
    [n.strip() for n in _env("MESHVIEW_ACCESSIBLE_NAMESPACES").split(",") if n.strip()]
    if _env("MESHVIEW_ACCESSIBLE_NAMESPACES")
    else None
)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "meshview.core",
    "meshview.mesh",
    "meshview.traces",
    "meshview.graph",
    "meshview.live",
    "meshview.alerts",
]

MIDDLEWARE = [
    "meshview.core.metrics.RequestMetricsMiddleware",
    "meshview.core.middleware.StorageUnavailableMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "meshview.core.middleware.CrossSiteWriteMiddleware",
    "meshview.core.budget.QueryBudgetMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "meshview.urls"
ASGI_APPLICATION = "meshview.asgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_TZ = True
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
AUTHENTICATION_BACKENDS = ["meshview.core.logins.ThrottledModelBackend"]


def _https() -> bool:
    """MESHVIEW_HTTPS=1: browsers reach meshview over HTTPS only (itself or a TLS-terminating
    proxy that sets X-Forwarded-Proto)."""
    value = _env("MESHVIEW_HTTPS")
    if value not in ("", "0", "1"):
        raise ImproperlyConfigured(f"MESHVIEW_HTTPS: {value!r} is not 0 or 1")
    return value == "1"


MESHVIEW_HTTPS = _https()
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = MESHVIEW_HTTPS
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = CSRF_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if MESHVIEW_HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = _int("MESHVIEW_HSTS_SECONDS", 365 * 86400, minimum=0)

STATIC_URL = "/static/"
STATICFILES_DIRS = [MESHVIEW_FRONTEND_DIR] if MESHVIEW_FRONTEND_DIR.is_dir() else []
# Serve static files straight from the app and the frontend build: no collectstatic step.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
# The build's scripts and styles carry a hash of their content in their names (Vite's
# assets/[name]-[hash].js): browsers may keep them for good. The build writes .gz and .br copies
# beside them, which WhiteNoise sends to browsers that accept them.
WHITENOISE_IMMUTABLE_FILE_TEST = rf"^{STATIC_URL}assets/.+-[\w-]{{8}}\.(?:js|css)$"

DATA_UPLOAD_MAX_MEMORY_SIZE = MESHVIEW_MAX_BODY_BYTES

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "meshview.core.auth.BearerTokenAuthentication",
        "meshview.core.auth.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["meshview.core.auth.ScopePermission"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "meshview.core.pagination.BoundedLimitOffsetPagination",
    "PAGE_SIZE": 100,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "meshview API",
    "DESCRIPTION": "Service graph, traces and ingestion API of meshview.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "meshview.core.schema.add_plain_views"],
    "ENUM_NAME_OVERRIDES": {
        "AlertStateEnum": "meshview.alerts.models.ALERT_STATES",
        "NotificationStateEnum": "meshview.alerts.models.NOTIFICATION_STATES",
        "AttemptOutcomeEnum": "meshview.alerts.models.ATTEMPT_OUTCOMES",
    },
}

# Channels drops a socket from its groups after a day by default: a dashboard left open on a wall
# screen would stop updating. A month outlasts any connection meshview keeps.
LIVE_GROUP_EXPIRY_SECONDS = 30 * 86400
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "group_expiry": LIVE_GROUP_EXPIRY_SECONDS},
        }
    }
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS: dict = {}
else:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels.layers.InMemoryChannelLayer",
            "CONFIG": {"group_expiry": LIVE_GROUP_EXPIRY_SECONDS},
        }
    }
    # A broker that needs no server: messages are files in the data directory, which the
    # web process and the worker started by `serve` both reach.
    _broker_dir = MESHVIEW_DATA_DIR / "broker"
    _broker_dir.mkdir(exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT = "meshview.core.broker:Transport"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir),
        "data_folder_out": str(_broker_dir),
        "processed_folder": str(_broker_dir),
        "store_processed": False,
        "control_folder": str(_broker_dir / "control"),
    }
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE = {
    "worker-heartbeat": {"task": "meshview.core.tasks.record_heartbeat", "schedule": 15.0},
    "settle-requests": {"task": "meshview.mesh.tasks.settle_requests", "schedule": 5.0},
    "maintain-span-store": {"task": "meshview.traces.tasks.maintain_span_store", "schedule": 3600.0},
    "delete-expired-traffic": {"task": "meshview.mesh.tasks.delete_expired_traffic", "schedule": 3600.0},
    "settle-span-pairs": {"task": "meshview.traces.tasks.settle_span_pairs", "schedule": 5.0},
    # Every 10 s, as a live graph moves on: its settled past then ends 40 to 50 s before now.
    "roll-up-traffic": {"task": "meshview.mesh.tasks.roll_up_traffic", "schedule": 10.0},
    "keep-rollup-pasts": {"task": "meshview.mesh.tasks.keep_rollup_pasts", "schedule": 30.0},
    "evaluate-alert-rules": {
        "task": "meshview.alerts.tasks.evaluate_rules",
        "schedule": float(MESHVIEW_ALERT_INTERVAL_SECONDS),
    },
    "resume-alert-deliveries": {
        "task": "meshview.alerts.tasks.resume_deliveries",
        "schedule": float(MESHVIEW_ALERT_INTERVAL_SECONDS),
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": _env("MESHVIEW_LOG_LEVEL", "INFO").upper()},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
