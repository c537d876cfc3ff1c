"""Django settings for Kameng, read from the environment (and .env) by django-environ.

Embedded default: with DATABASE_URL and REDIS_URL unset, Kameng runs on SQLite in
var/, with a Celery worker and beat fed by kombu's filesystem transport (message
files in var/broker/) and a file cache in var/cache/ that web, worker and beat share.
Setting both switches to the full stack (PostgreSQL, Redis broker and cache) with no
code change. `manage.py runstack` starts web + worker + beat in either mode.
"""

from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

import environ
from csp.constants import NONE, SELF, UNSAFE_EVAL, UNSAFE_INLINE
from django.templatetags.static import static
from django.urls import reverse_lazy
from django.utils.translation import gettext_lazy as _

from kameng.config import (
    ConfigError,
    check_database_url,
    check_hash_key,
    check_redis_url,
    parse_fernet_keys,
    per_test_worker,
)

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# Variables already in the environment win over .env (KAMENG_ENV_FILE points elsewhere).
environ.Env.read_env(env.str("KAMENG_ENV_FILE", default=str(BASE_DIR / ".env")))
# Local state of the embedded default: SQLite file, broker messages, cache, media.
VAR_DIR = Path(env.str("KAMENG_VAR_DIR", default=str(BASE_DIR / "var"))).resolve()

DATABASE_URL = env.str("DATABASE_URL", default="")
REDIS_URL = env.str("REDIS_URL", default="")
EMBEDDED = not DATABASE_URL
if DATABASE_URL:
    check_database_url(DATABASE_URL)
if REDIS_URL:
    check_redis_url(REDIS_URL)
    REDIS_URL = per_test_worker(REDIS_URL, env.str("PYTEST_XDIST_WORKER", default=""))

DEBUG = env.bool("DEBUG", default=EMBEDDED)
# Built-in development keys stand in for missing secrets only on a development
# machine: the embedded default with DEBUG on. Anything else must set its own.
DEV_KEYS_ALLOWED = EMBEDDED and DEBUG
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEV_KEYS_ALLOWED:
        raise ConfigError(
            "SECRET_KEY is not set; it is required unless DEBUG is on in the "
            "embedded default (write one with: python scripts/write_env.py .env)."
        )
    SECRET_KEY = "kameng-embedded-insecure-key-run-make-run-to-generate-one"

FIELD_ENCRYPTION_KEYS = parse_fernet_keys(
    env.str("FIELD_ENCRYPTION_KEY", default=""), required=not DEV_KEYS_ALLOWED
) or ["a2FtZW5nLWVtYmVkZGVkLWRldi1rZXktMzItYnl0ZXM="]

CARD_HASH_KEY = (
    check_hash_key(env.str("CARD_HASH_KEY", default=""), required=not DEV_KEYS_ALLOWED)
    or "kameng-embedded-dev-card-hash-key-not-for-production"
)

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "kameng.admin_site.UnfoldConfig",  # unfold, with the site of kameng.admin_site
    "unfold.contrib.filters",
    "unfold.contrib.forms",
    "unfold.contrib.guardian",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.humanize",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "guardian",
    "django_celery_beat",
    "axes",
    # Two-factor authentication for staff (issue 15; users.two_factor).
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "django_ratelimit",
    # Content-Security-Policy header (issue 15; kameng.csp, CONTENT_SECURITY_POLICY).
    "csp",
    "kameng",
    "users",
    "catalog",
    "marketing",
    "orders",
    "analytics",
]

MIDDLEWARE = [
    "kameng.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Content-Security-Policy on every response, the back office's additions
    # under /admin/ (issue 15).
    "kameng.csp.PolicyByAreaMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "kameng.middleware.ChineseFirstLocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    # Django's, renaming sessions made under Django's ModelBackend (users.backends).
    "users.middleware.AuthenticationMiddleware",
    # Audit trail: the client's address for kameng.audit.record.
    "kameng.middleware.AuditScopeMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Logins (issue 15), after messages (an expired session says so):
    # whether this session passed the second step, staff session expiry, the
    # second step itself, then rate limits.
    "django_otp.middleware.OTPMiddleware",
    "users.middleware.StaffSessionMiddleware",
    "users.middleware.TwoFactorMiddleware",
    "kameng.ratelimits.RateLimitMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last: turns a login refused for too many failures into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "kameng.urls"
WSGI_APPLICATION = "kameng.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "kameng.context_processors.worker_banner",
                "kameng.context_processors.backlog_banner",
                "kameng.context_processors.audit_alert",
                "kameng.context_processors.modules",
            ],
        },
    },
]

# Database ------------------------------------------------------------------------
VAR_DIR.mkdir(parents=True, exist_ok=True)
if EMBEDDED:
    # Web, worker and beat share the file: WAL lets readers run beside the one
    # writer, IMMEDIATE transactions take the write lock up front (no upgrade
    # deadlock), and a writer waits up to 20 s for the lock instead of failing.
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "kameng.sqlite3",
            "OPTIONS": {
                "timeout": 20,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    }
else:
    DATABASES = {"default": env.db_url("DATABASE_URL")}
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = 5
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Read replica (kameng.replica): dashboard and report reads go to it when set.
DATABASE_REPLICA_URL = env.str("DATABASE_REPLICA_URL", default="")
if DATABASE_REPLICA_URL:
    DATABASES["replica"] = env.db_url("DATABASE_REPLICA_URL")
    # Tests read the test database through the alias (no second test database).
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
DATABASE_ROUTERS = ["kameng.replica.ReplicaRouter"]

# Cache: shared by web, worker and beat (the worker heartbeat, import progress,
# supplier breakers, nonces live in it): Redis when configured, else files in var/.
if REDIS_URL:
    CACHES = {
        "default": {
            # Django's, with one redis client per pool (not one per call).
            "BACKEND": "kameng.redis_cache.ReusingRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="kameng"),
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": VAR_DIR / "cache",
            # The default (300) culls a third of the entries, the heartbeat with them.
            "OPTIONS": {"MAX_ENTRIES": 100_000},
        }
    }

# Template fragments that are the same for everyone who sees them (the shop's
# header links per language, modules and level: templates/shop/base.html), kept
# in each process's memory: they change only with a deploy or a key they vary
# on (issue 12).
CACHES["fragments"] = {
    "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
    "LOCATION": "kameng-fragments",
    "OPTIONS": {"MAX_ENTRIES": 1000},
}

# Auth ------------------------------------------------------------------------------
AUTH_USER_MODEL = "users.User"
AUTHENTICATION_BACKENDS = [
    # First: refuses a login from a locked-out address before any password check.
    "axes.backends.AxesStandaloneBackend",
    # Django's ModelBackend, the request's user read by a compiled query.
    "users.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
_VALIDATORS = "django.contrib.auth.password_validation."
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": _VALIDATORS + name}
    for name in (
        "UserAttributeSimilarityValidator",
        "MinimumLengthValidator",
        "CommonPasswordValidator",
        "NumericPasswordValidator",
    )
]
# Argon2 first: new passwords and every older hash (upgraded at its owner's next
# login) use it; the others only check passwords stored before.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
LOGIN_URL = "admin:login"
LOGIN_REDIRECT_URL = "admin:index"
GUARDIAN_RAISE_403 = True
# No anonymous-user row: buyers who are not logged in get no object permissions.
ANONYMOUS_USER_NAME = None

# Internationalisation: Chinese first, English switchable, Shanghai time, CNY. ----
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True
CURRENCY = "CNY"

# Static files: our own and the admin theme's, served by WhiteNoise. No CDN. ------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
MEDIA_URL = "media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=VAR_DIR / "media")

# Security -----------------------------------------------------------------------
# Sessions are read on every request of a logged-in buyer or member of staff: from
# the cache (Redis when configured) first, written through to the database, so a
# cache flush or restart logs nobody out (cached_db, whose read brings the module
# switches in the same round trip: kameng.sessions).
SESSION_ENGINE = "kameng.sessions"
SESSION_COOKIE_HTTPONLY = True
# Production (DEBUG off) is served over HTTPS behind a proxy: cookies only over
# HTTPS, HSTS, and plain HTTP redirected. A development machine keeps plain HTTP.
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=SESSION_COOKIE_SECURE)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
# /healthz answers plain HTTP too: load balancers probe it inside the network.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool(
    "SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG
)
# The header only allows a submission to the browsers' preload list (made by hand).
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
# The reverse proxy says the request came over HTTPS in this header (nginx:
# proxy_set_header X-Forwarded-Proto $scheme). Only behind a trusted proxy.
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https")
    if env.bool("SECURE_PROXY_SSL_HEADER", default=not DEBUG)
    else None
)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# The reverse proxies in front of Kameng (addresses or networks, e.g.
# 10.0.0.0/8): only behind one of these is X-Forwarded-For believed
# (kameng.client_address). Empty: REMOTE_ADDR is the client.
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])
# /healthz gives components and errors to staff, or to a caller sending this token
# in the X-Health-Token header (monitoring); anyone else learns only up or down.
HEALTHZ_TOKEN = env.str("HEALTHZ_TOKEN", default="")
# A sandbox (payment gateway or supplier) on with DEBUG off is a deploy error
# (kameng.checks) unless this acknowledges it (a staging shop).
SANDBOX_IN_PRODUCTION_ACKNOWLEDGED = env.bool(
    "SANDBOX_IN_PRODUCTION_ACKNOWLEDGED", default=False
)

# Login lockout (django-axes): after LOGIN_FAILURE_LIMIT failed logins for one
# username from one client address, on /admin/login/ or /shop/login/, that pair is
# refused for LOGIN_LOCKOUT_MINUTES. Every failure is a row (axes AccessAttempt).
AXES_ENABLED = env.bool("LOGIN_LOCKOUT_ENABLED", default=True)
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_LOCKOUT_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["ip_address", "username"]]
AXES_CLIENT_IP_CALLABLE = "kameng.client_address.client_address"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "kameng.logins.lockout_response"
AXES_ENABLE_ADMIN = False
AXES_VERBOSE = False

# Logins (issue 15; users.two_factor, users.middleware, kameng.ratelimits).
# Two-factor (TOTP + recovery codes) is required for these roles (users/roles.py
# codes; "superadmin" also covers every superuser) and optional for other staff.
TWO_FACTOR_REQUIRED_ROLES = env.list(
    "TWO_FACTOR_REQUIRED_ROLES", default=["superadmin", "finance"]
)
OTP_TOTP_ISSUER = env.str("OTP_TOTP_ISSUER", default="Kameng")
# A staff session ends after this long without a request, or this long after its
# login whatever happens; a buyer's lasts SESSION_COOKIE_AGE (two weeks).
STAFF_SESSION_IDLE_MINUTES = env.int("STAFF_SESSION_IDLE_MINUTES", default=30)
STAFF_SESSION_MAX_HOURS = env.int("STAFF_SESSION_MAX_HOURS", default=12)
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=14 * 24 * 3600)
# Requests per client address (kameng.ratelimits.LIMITED_URLS names the URLs of
# each group): "N/P" is N per period P (s, m, h, d, optionally "10m").
RATE_LIMITS = {
    "login": env.str("RATE_LIMIT_LOGIN", default="20/10m"),
    "two_factor": env.str("RATE_LIMIT_TWO_FACTOR", default="10/10m"),
    "lookup": env.str("RATE_LIMIT_LOOKUP", default="10/10m"),
    "signup": env.str("RATE_LIMIT_SIGNUP", default="10/h"),
    "checkout": env.str("RATE_LIMIT_CHECKOUT", default="30/10m"),
    "redeem": env.str("RATE_LIMIT_REDEEM", default="10/10m"),
    "callback": env.str("RATE_LIMIT_CALLBACK", default="600/m"),
}
RATELIMIT_ENABLE = env.bool("RATE_LIMITS_ENABLED", default=True)
# A cache that fails to count lets the request through (kameng.ratelimits logs it).
RATELIMIT_FAIL_OPEN = True
RATELIMIT_CACHE_PREFIX = "rl:"
SILENCED_SYSTEM_CHECKS = [
    # Django's own RedisCache counts atomically (INCR); django-ratelimit only
    # lists django-redis's by name.
    "django_ratelimit.W001",
]
if not REDIS_URL:
    # The embedded default is one machine; its file cache does not increment
    # atomically, so two simultaneous requests may count once. The login lockout
    # (in the database) is exact either way.
    SILENCED_SYSTEM_CHECKS.append("django_ratelimit.E003")

# Mail ---------------------------------------------------------------------------
# EMAIL_URL (e.g. smtp+tls://user:password@smtp.example.com:587) sends for real.
# Without it, each mail is written as a file under var/mail/ and the report runs
# list what would have been sent (analytics.reports), so a demo shows it.
if "EMAIL_URL" in env:
    EMAIL_CONFIG = env.email_url("EMAIL_URL")
    vars().update(EMAIL_CONFIG)
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = VAR_DIR / "mail"
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="kameng@localhost")

# Celery -------------------------------------------------------------------------
# Tasks always go through a broker to a worker (runstack starts one); tests run
# them eagerly (tests/conftest.py). Without REDIS_URL the broker is kombu's
# filesystem transport: one JSON file per message in var/broker/, no service and no
# extra package; the one worker and beat of a single machine are all it serves.
BROKER_DIR = VAR_DIR / "broker"
CELERY_BROKER_URL = REDIS_URL or "filesystem://localhost/"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = env.bool("KAMENG_CELERY_EAGER", default=False)
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_QUEUE", default="celery")
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = 300
CELERY_TASK_TIME_LIMIT = 360
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
if REDIS_URL:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
else:
    BROKER_DIR.mkdir(exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR),
        "data_folder_out": str(BROKER_DIR),
        "control_folder": str(BROKER_DIR / "control"),
        # Look for new message files five times a second (a listing of one folder).
        "polling_interval": 0.2,
    }
    # Broadcasts (remote control, mingle, gossip) would leave a message file per
    # dead worker behind; health reads the heartbeat instead.
    CELERY_WORKER_ENABLE_REMOTE_CONTROL = False
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# A worker that has not been heard from for this long is reported as missing.
WORKER_STALE_AFTER_SECONDS = env.int("WORKER_STALE_AFTER_SECONDS", default=180)
# A paid order's announcement (growth, points, rewards) waiting longer than this
# is shown to staff: past a drain's lease (5 min) and beat's sweep (1 min).
PAID_OUTBOX_STALE_AFTER_SECONDS = env.int(
    "PAID_OUTBOX_STALE_AFTER_SECONDS", default=900
)
# When set, periodic tasks created by the beat sync run at least this often (the
# stack tests use 2 s). Existing entries keep their timing.
BEAT_INTERVAL_CAP_SECONDS = env.int("BEAT_INTERVAL_CAP_SECONDS", default=0)

# Logging: one JSON object per line in production, readable lines in development.
LOG_FORMAT = env.str("LOG_FORMAT", default="text" if DEBUG else "json")
if LOG_FORMAT not in {"json", "text"}:
    raise ConfigError(f"LOG_FORMAT={LOG_FORMAT!r}: expected 'json' or 'text'.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "context": {"()": "kameng.logging.ContextFilter"},
        "permission_denied_one_line": {
            "()": "kameng.permission_denied.PermissionDeniedOneLine"
        },
    },
    "formatters": {
        "json": {"()": "kameng.logging.JsonFormatter"},
        "text": {
            "format": "%(asctime)s %(levelname)-7s %(name)s "
            "[req=%(request_id)s task=%(task_id)s] %(message)s"
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["context"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        "django.request": {"filters": ["permission_denied_one_line"]},
        "celery": {"level": "INFO"},
        # WeasyPrint logs every layout step of every PDF at INFO.
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
        "matplotlib": {"level": "WARNING"},
    },
}

# Admin theme (django-unfold: ships its own CSS, fonts and JS, nothing from a CDN).
UNFOLD = {
    "SITE_TITLE": _("Kameng back office"),
    "SITE_HEADER": _("Kameng"),
    "SITE_SUBHEADER": _("Card shop back office"),
    "SITE_SYMBOL": "storefront",
    "SITE_FAVICONS": [
        {
            "rel": "icon",
            "type": "image/svg+xml",
            "href": lambda request: static("img/favicon.svg"),
        }
    ],
    "SITE_URL": None,
    "SHOW_LANGUAGES": True,
    "SHOW_VIEW_ON_SITE": False,
    "DASHBOARD_CALLBACK": "analytics.dashboard_views.dashboard_callback",
    "ENVIRONMENT": "kameng.dashboard.environment_callback",
    # The colours are in a stylesheet (kameng/admin_theme.py), not the inline
    # <style> unfold would write into every page (refused by the CSP, issue 15).
    "COLORS": "kameng.admin_theme.no_inline_colours",
    "STYLES": [
        lambda request: static("kameng/admin-theme.css"),
        lambda request: static("kameng/back-office.css"),
    ],
    "SCRIPTS": [lambda request: static("kameng/back-office.js")],
    # The account menu (top right): every member of staff's own account page.
    "ACCOUNT": {
        "navigation": [{"title": _("My account"), "link": reverse_lazy("my_account")}]
    },
    "SIDEBAR": {
        "show_search": True,
        "show_all_applications": True,
        "navigation": "kameng.navigation.sidebar_navigation",
    },
}

# Stock monitor and supplier health (catalog.selectors.health, services.inventory).
# Health looks at the last SUPPLIER_HEALTH_MAX_CALLS calls within the window; a
# supplier/offer is degraded when its breaker is open, or when it has at least
# SUPPLIER_HEALTH_MIN_CALLS calls and a success rate below the minimum.
SUPPLIER_HEALTH_WINDOW_MINUTES = env.int("SUPPLIER_HEALTH_WINDOW_MINUTES", default=60)
SUPPLIER_HEALTH_MAX_CALLS = env.int("SUPPLIER_HEALTH_MAX_CALLS", default=200)
SUPPLIER_HEALTH_MIN_CALLS = env.int("SUPPLIER_HEALTH_MIN_CALLS", default=10)
SUPPLIER_HEALTH_MIN_SUCCESS_RATE = env.float(
    "SUPPLIER_HEALTH_MIN_SUCCESS_RATE", default=0.8
)

# Suppliers (catalog.services.suppliers, catalog.sandbox). The sandbox supplier only
# serves merchants of Supplier rows marked is_sandbox; switch it off to hide it.
SANDBOX_SUPPLIER_URL = env.str(
    "SANDBOX_SUPPLIER_URL", default="http://127.0.0.1:8000/sandbox/supplier/"
)
# Off by default outside DEBUG: a production shop talks to real suppliers only.
SANDBOX_SUPPLIER_ENABLED = env.bool("SANDBOX_SUPPLIER_ENABLED", default=DEBUG)
SUPPLIER_CALLBACK_BASE_URL = env.str(
    "SUPPLIER_CALLBACK_BASE_URL", default="http://127.0.0.1:8000"
)
SUPPLIER_BREAKER_THRESHOLD = env.int("SUPPLIER_BREAKER_THRESHOLD", default=5)
SUPPLIER_BREAKER_COOLDOWN_SECONDS = env.int(
    "SUPPLIER_BREAKER_COOLDOWN_SECONDS", default=60
)

# Imports (card codes, products), checked before a file is parsed: the largest
# file accepted (bytes), a workbook's parts unpacked (bytes), rows, characters in
# one cell or line; an error report lists the first N row errors and counts the rest.
CARD_IMPORT_MAX_BYTES = env.int("CARD_IMPORT_MAX_BYTES", default=20 * 1024 * 1024)
CARD_IMPORT_MAX_UNCOMPRESSED_BYTES = env.int(
    "CARD_IMPORT_MAX_UNCOMPRESSED_BYTES", default=100 * 1024 * 1024
)
CARD_IMPORT_MAX_ROWS = env.int("CARD_IMPORT_MAX_ROWS", default=200_000)
CARD_IMPORT_MAX_CELL_CHARS = env.int("CARD_IMPORT_MAX_CELL_CHARS", default=1000)
CARD_IMPORT_REPORT_MAX_ERRORS = env.int("CARD_IMPORT_REPORT_MAX_ERRORS", default=10_000)

# Payments (orders.payments). The sandbox gateway is a fake payment page + signed
# notify that behaves like a real gateway; it is on unless switched off (switch it
# off in production). 易支付 (epay) is on when EPAY_URL, EPAY_PID and EPAY_KEY are set.
# Unpaid orders are cancelled after ORDER_PAYMENT_TIMEOUT_MINUTES; gateway orders
# pending longer than PAYMENT_QUERY_AFTER_MINUTES are queried at the gateway.
ORDER_PAYMENT_TIMEOUT_MINUTES = env.int("ORDER_PAYMENT_TIMEOUT_MINUTES", default=15)
PAYMENT_QUERY_AFTER_MINUTES = env.int("PAYMENT_QUERY_AFTER_MINUTES", default=3)
PAYMENT_NOTIFY_MAX_SKEW_SECONDS = env.int(
    "PAYMENT_NOTIFY_MAX_SKEW_SECONDS", default=300
)
# The public address gateways reach us at (notify URLs are built on it).
PAYMENT_PUBLIC_BASE_URL = env.str(
    "PAYMENT_PUBLIC_BASE_URL", default="http://127.0.0.1:8000"
)
_EPAY = {
    name: env.str(f"EPAY_{name.upper()}", default="") for name in ("url", "pid", "key")
}
PAYMENT_CHANNELS = {
    "sandbox": {
        # Anyone can "pay" through it: on by default only for the demo and
        # development (DEBUG), never in production unless switched on explicitly.
        "enabled": env.bool("PAYMENT_SANDBOX_ENABLED", default=DEBUG),
        # Signs the sandbox gateway's notifies; derived from SECRET_KEY if unset.
        "key": env.str("PAYMENT_SANDBOX_KEY", default=""),
    },
    "epay": {
        "enabled": all(_EPAY.values()),  # on once URL, PID and key are all set
        **_EPAY,
        "type": env.str("EPAY_TYPE", default="alipay"),
    },
}

# Content-Security-Policy (issue 15; django-csp, kameng.csp). Every page: scripts,
# styles, fonts and requests from this site only (assets are vendored under
# static/), no inline script or style attribute, images also as data: URLs, no
# plugins, no <base> elsewhere, never framed (with X_FRAME_OPTIONS for old
# browsers). Forms post here, or to the payment gateway (checkout redirects to
# its pay page, which Chromium checks against form-action too).
_FORM_TARGETS = [SELF]
if PAYMENT_CHANNELS["epay"]["enabled"]:
    _epay = urlsplit(PAYMENT_CHANNELS["epay"]["url"])
    _FORM_TARGETS.append(f"{_epay.scheme}://{_epay.netloc}")
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": _FORM_TARGETS,
        "frame-ancestors": [NONE],
    },
}
# Added to it under /admin/ only (django-unfold's Alpine.js): see
# docs/architecture.md, "Content-Security-Policy (issue 15)".
CONTENT_SECURITY_POLICY_BACK_OFFICE = {
    "script-src": [UNSAFE_EVAL],
    "style-src-attr": [UNSAFE_INLINE],
}

# Wallet top-ups through a payment gateway (/shop/wallet/): the largest amount one
# top-up may add (the smallest is 1.00).
WALLET_TOPUP_MAX = Decimal(env.str("WALLET_TOPUP_MAX", default="5000.00"))

# After-sales (orders.refunds, orders.aftersales). Refunds above this amount wait
# for a second person's approval (orders.approve_refundrequest).
REFUND_APPROVAL_THRESHOLD = Decimal(
    env.str("REFUND_APPROVAL_THRESHOLD", default="200.00")
)
# Ticket service levels: a first staff answer within, and a resolution within,
# these many hours of opening; later ones are highlighted as overdue.
TICKET_SLA_FIRST_RESPONSE_HOURS = env.int("TICKET_SLA_FIRST_RESPONSE_HOURS", default=2)
TICKET_SLA_RESOLVE_HOURS = env.int("TICKET_SLA_RESOLVE_HOURS", default=24)
# A buyer's image attachment on a ticket: at most this many bytes.
TICKET_ATTACHMENT_MAX_BYTES = env.int("TICKET_ATTACHMENT_MAX_BYTES", default=2_000_000)

# Smart support (orders.suggest, issue 11 support slice): the suggestion index
# holds at most this many recent resolved tickets, and each process rebuilds it
# at least this often (at once when canned replies change).
SUPPORT_INDEX_MAX_TICKETS = env.int("SUPPORT_INDEX_MAX_TICKETS", default=5000)
SUPPORT_INDEX_MAX_AGE_SECONDS = env.int("SUPPORT_INDEX_MAX_AGE_SECONDS", default=600)

# Customers (users). A buyer whose growth falls below the level's threshold keeps
# the level this many days before the daily review moves them down.
MEMBER_LEVEL_GRACE_DAYS = env.int("MEMBER_LEVEL_GRACE_DAYS", default=30)
# Raw logins, product views and shop searches older than this are counted per day
# (users.BehaviourDay) and deleted by the daily tracking roll-up.
TRACKING_RETENTION_DAYS = env.int("TRACKING_RETENTION_DAYS", default=90)

# Segments and strategies (marketing, issue 10). Built-in segments:
# would-be buyers viewed or favourited within this many days and never bought;
# dormant buyers have not ordered for this many days; new buyers registered
# within this many days.
SEGMENT_WOULD_BE_DAYS = env.int("SEGMENT_WOULD_BE_DAYS", default=14)
SEGMENT_DORMANT_DAYS = env.int("SEGMENT_DORMANT_DAYS", default=30)
SEGMENT_NEW_DAYS = env.int("SEGMENT_NEW_DAYS", default=30)

# Refunds, wallet and risk (issue 11; orders.risk, users.wallets).
# A buyer with more than this many refunds + reissues within RISK_WINDOW_DAYS is
# flagged as a risk on every page that shows them.
RISK_AFTER_SALES_LIMIT = env.int("RISK_AFTER_SALES_LIMIT", default=3)
RISK_WINDOW_DAYS = env.int("RISK_WINDOW_DAYS", default=30)
# Paid orders of flagged buyers wait for staff review before delivery.
RISK_HOLD_FLAGGED_ORDERS = env.bool("RISK_HOLD_FLAGGED_ORDERS", default=True)

# Recommendations in the shop (issue 10; orders.recommendations).
# "Bought together" counts buyers who paid for both products within the last
# RECOMMENDATION_LOOKBACK_DAYS; a pair needs at least RECOMMENDATION_MIN_BUYERS
# (one buyer's pair would tell everyone what that buyer bought). Each product
# keeps its RECOMMENDATION_PAIRS_KEPT strongest pairs; a shop page shows at most
# RECOMMENDATION_LIMIT products per list.
RECOMMENDATION_LOOKBACK_DAYS = env.int("RECOMMENDATION_LOOKBACK_DAYS", default=180)
RECOMMENDATION_MIN_BUYERS = env.int("RECOMMENDATION_MIN_BUYERS", default=2)
RECOMMENDATION_PAIRS_KEPT = env.int("RECOMMENDATION_PAIRS_KEPT", default=20)
RECOMMENDATION_LIMIT = env.int("RECOMMENDATION_LIMIT", default=6)

# Order workbench (issue 11; orders.workbench). Excel exports of the
# filtered order list are written here (not under MEDIA: only the member of staff
# who asked downloads one, through a permission-checked page), kept this many
# hours, then removed by the export sweeper. An export stops at
# ORDER_EXPORT_MAX_ROWS rows (narrow the filters); a job that has not finished
# after ORDER_EXPORT_TIME_LIMIT seconds is marked failed.
ORDER_EXPORT_DIR = env.path("ORDER_EXPORT_DIR", default=VAR_DIR / "exports")
ORDER_EXPORT_KEEP_HOURS = env.int("ORDER_EXPORT_KEEP_HOURS", default=72)
ORDER_EXPORT_MAX_ROWS = env.int("ORDER_EXPORT_MAX_ROWS", default=1_000_000)
ORDER_EXPORT_TIME_LIMIT = env.int("ORDER_EXPORT_TIME_LIMIT", default=1800)

# Reports (issue 14; analytics.reports): the Excel and PDF files of every run and
# a copy of each mail sent with them (.eml), downloadable from the back office.
REPORT_DIR = env.path("REPORT_DIR", default=VAR_DIR / "reports")
# Demand forecasts: card codes to import cover this many days of forecast.
FORECAST_COVER_DAYS = env.int("FORECAST_COVER_DAYS", default=7)

# Audit trail (issue 15; kameng.audit, kameng.sealing). The sealer runs
# every minute and looks back this many seconds behind the highest row it sealed:
# a transaction that commits a row later than that is reported by verify_audit
# instead of sealed. At most AUDIT_SEAL_BATCH rows of each table per run.
AUDIT_SEAL_GRACE_SECONDS = env.int("AUDIT_SEAL_GRACE_SECONDS", default=900)
AUDIT_SEAL_BATCH = env.int("AUDIT_SEAL_BATCH", default=5000)
# Keys the seal chain (HMAC); derived from CARD_HASH_KEY when unset. Changing it
# makes every existing seal fail verification.
AUDIT_CHAIN_KEY = env.str("AUDIT_CHAIN_KEY", default="")
