"""CommonWatt settings: everything configurable comes from the environment, read once here.

Every variable and its default is listed in the README ("Configuration"). With DEBUG off,
a missing secret refuses to start with a clear message instead of running insecurely.
"""

import os
import sys
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# Off unless asked for: a forgotten variable must not run production in development mode
# (`make run`, `make test` and the benchmarks set DEBUG=1 / TESTING=1 themselves).
DEBUG = env.bool("DEBUG", default=False)
# `pytest` or `python -m pytest` (argv[0] is .../pytest/__main__.py) count as TESTING=1.
TESTING = env.bool("TESTING", default="pytest" in Path(sys.argv[0]).parts[-2:])


def _mandatory(name: str, dev_default: str) -> str:
    """A secret that has a development default but must be set in production."""
    value = env.str(name, default="")
    if value:
        return value
    if DEBUG or TESTING:
        return dev_default
    raise ImproperlyConfigured(
        f"{name} must be set when DEBUG=0 (see README, Configuration); for development, run "
        f"through `make` or set DEBUG=1.")


SECRET_KEY = _mandatory("SECRET_KEY", "dev-insecure-commonwatt-secret-key-change-me-0123456789")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.sites",
    "django.contrib.gis",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "ninja",  # the device API's docs from its own static files (swagger.html), not a CDN
    "django_filters",
    "django_celery_beat",
    "import_export",
    "channels",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.google",
    "core",
    "accounts",
    "communities",
    "plants",
    "iot",
    "simulation",
    "billing",
    "pricing",
    "settlement",
    "allocations",
    "statements",
    "forecasts",
]

MIDDLEWARE = [
    "core.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",  # it/en from the cookie, else the browser
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "core.i18n.UserLanguageMiddleware",  # the profile's language wins once logged in
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "core.middleware.ApiErrorMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = None
ASGI_APPLICATION = "config.asgi.application"

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
                "django.template.context_processors.i18n",
                "core.context_processors.portal",
            ],
        },
    },
]

DATABASES = {
    "default": env.db(
        "DATABASE_URL", default="postgis://commonwatt:commonwatt@127.0.0.1:5432/commonwatt"
    )
}
DATABASES["default"]["ENGINE"] = "django.contrib.gis.db.backends.postgis"
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=0)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASES["default"].setdefault("TEST", {})
if env.str("TEST_DATABASE_NAME", default=""):
    DATABASES["default"]["TEST"]["NAME"] = env.str("TEST_DATABASE_NAME")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:6379/0")
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="commonwatt"),
    }
}

# Channels: the pub/sub layer is several times faster than the core layer and has no
# socket-timeout trap with redis-py 8 (see shared/PITFALLS.md, Channels).
# `make test` runs the suite in parallel (pytest-xdist): each worker gets its own database
# (pytest-django's suffix), and here its own Celery queue and channel prefix; the processes a
# test starts inherit PYTEST_XDIST_WORKER and so agree with it.
_XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "") if TESTING else ""
_XDIST_SUFFIX = f"-{_XDIST_WORKER}" if _XDIST_WORKER else ""

CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
        "CONFIG": {
            "hosts": [env.str("CHANNELS_REDIS_URL", default=REDIS_URL)],
            "prefix": env.str("CHANNELS_PREFIX", default="commonwatt") + _XDIST_SUFFIX,
        },
    }
}

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="redis://127.0.0.1:6379/1")
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default=CELERY_BROKER_URL)
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_QUEUE", default="commonwatt") + _XDIST_SUFFIX
CELERY_TASK_ALWAYS_EAGER = False
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = "UTC"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "accounts.backends.LockoutModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
PASSWORD_HASHERS = (
    ["django.contrib.auth.hashers.MD5PasswordHasher"]
    if TESTING
    else [
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
        "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    ]
)

# Login lockout: after LOGIN_LOCKOUT_ATTEMPTS failures on one account within
# LOGIN_LOCKOUT_WINDOW_S seconds, every login path answers 429 until the window passes.
LOGIN_LOCKOUT_ATTEMPTS = env.int("LOGIN_LOCKOUT_ATTEMPTS", default=5)
LOGIN_LOCKOUT_WINDOW_S = env.int("LOGIN_LOCKOUT_WINDOW_S", default=300)

SITE_ID = 1
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "portal:dashboard"
ACCOUNT_LOGOUT_REDIRECT_URL = "account_login"
ACCOUNT_USER_MODEL_USERNAME_FIELD = "username"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_ADAPTER = "accounts.adapters.AccountAdapter"
# allauth's own failed-login limit is off: accounts.lockout locks every login path alike.
ACCOUNT_RATE_LIMITS = {"login_failed": None}
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = False
ACCOUNT_EMAIL_SUBJECT_PREFIX = "CommonWatt: "
ACCOUNT_PRESERVE_USERNAME_CASING = False
# API flows (accounts/tokens.py): signed links, valid this long.
EMAIL_VERIFICATION_MAX_AGE_S = env.int("EMAIL_VERIFICATION_MAX_AGE_S", default=3 * 24 * 3600)
PASSWORD_RESET_TIMEOUT = env.int("PASSWORD_RESET_TIMEOUT_S", default=24 * 3600)
# Public auth API endpoints, per client IP (accounts/throttles.py). Behind a reverse proxy set
# NUM_PROXIES so the client IP is read from X-Forwarded-For, not the proxy's address.
AUTH_API_RATE = env.str("AUTH_API_RATE", default="20/min")
SOCIALACCOUNT_ADAPTER = "accounts.adapters.SocialAccountAdapter"
GOOGLE_CLIENT_ID = env.str("GOOGLE_CLIENT_ID", default="")
GOOGLE_CLIENT_SECRET = env.str("GOOGLE_CLIENT_SECRET", default="")
SOCIALACCOUNT_PROVIDERS = (
    {
        "google": {
            "APPS": [{"client_id": GOOGLE_CLIENT_ID, "secret": GOOGLE_CLIENT_SECRET, "key": ""}],
            "SCOPE": ["profile", "email"],
        }
    }
    if GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET
    else {}
)

# Production sends real mail (sign-up, resets, invitations): no silent console default.
EMAIL_URL = _mandatory("EMAIL_URL", "consolemail://")
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="CommonWatt <noreply@commonwatt.local>")
# An SMTP server that does not answer must not hang a worker forever.
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT_S", default=10)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework_simplejwt.authentication.JWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
        "rest_framework.filters.SearchFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "core.pagination.ItemsPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "core.errors.api_exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("JWT_ACCESS_MINUTES", default=15)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("JWT_REFRESH_DAYS", default=30)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": True,
    "SIGNING_KEY": _mandatory("JWT_SIGNING_KEY", SECRET_KEY),
    "AUTH_HEADER_TYPES": ("Bearer",),
}

SPECTACULAR_SETTINGS = {
    "TITLE": "CommonWatt API",
    "DESCRIPTION": "Renewable energy communities: members, plants, telemetry, simulation.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    # the error envelope's shared answers (400/401/403/404/429) on every operation
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "core.openapi.postprocess_error_responses",
    ],
}

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
# Portal languages (issue 11): chosen from the browser, switchable in the profile (cookie
# + the user's preferences["language"]); catalogues in locale/, compiled at set-up.
LANGUAGES = [("it", "Italiano"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
# Map tiles of the portal's maps ({z}/{x}/{y} template); empty: no tiles, the map still
# draws boundary, plants and PODs. Production: OpenStreetMap's, with its attribution.
MAP_TILE_URL = env("MAP_TILE_URL", default="" if DEBUG else "https://tile.openstreetmap.org/{z}/{x}/{y}.png")
MAP_TILE_ATTRIBUTION = env(
    "MAP_TILE_ATTRIBUTION",
    default='&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors',
)
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "var" / "staticfiles"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns on a missing root
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG or TESTING
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
MEDIA_ROOT = BASE_DIR / "var" / "media"
MEDIA_URL = "media/"
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=20 * 1024 * 1024)

# MQTT broker the bridge and the simulator talk to (the project's own Mosquitto in
# `make run`, see deploy/mosquitto/).
MQTT_HOST = env.str("MQTT_HOST", default="127.0.0.1")
MQTT_PORT = env.int("MQTT_PORT", default=1884)
# Devices connect to their own listener, where Mosquitto uses the username (the serial) as
# the client id: a device can never take the bridge's client id and session.
MQTT_DEVICE_HOST = env.str("MQTT_DEVICE_HOST", default="127.0.0.1")
MQTT_DEVICE_PORT = env.int("MQTT_DEVICE_PORT", default=1885)
MQTT_USERNAME = env.str("MQTT_USERNAME", default="commonwatt-bridge")
MQTT_PASSWORD = _mandatory("MQTT_PASSWORD", "commonwatt-bridge-dev")

# Production hardening: `manage.py check --deploy` is clean with DEBUG=0.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
if not DEBUG and not TESTING:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
    ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https"


def _origin_of(url_template: str) -> str | None:
    """scheme://host[:port] of an absolute URL template such as a tile server's
    `https://{s}.tile.example.org/{z}/{x}/{y}.png` (Leaflet's `{s}` subdomain becomes `*`);
    None for an empty or relative template (the site itself, which 'self' covers)."""
    parts = urlsplit((url_template or "").replace("{s}", "*"))
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else None


# Content-Security-Policy on every answer (django-csp; README, Web tier): scripts and styles
# only from the site's own files, no inline script, style or event handler anywhere (portal,
# back office, API docs). Additions to 'self' come from settings, never typed in here: the
# map's tile server (MAP_TILE_URL), the websocket origin of the request (core.csp), Google's
# sign-in page when it is configured (allauth's POST /accounts/google/login/ redirects there,
# and form-action covers the redirect).
# (not named CSP_REPORT_URI here: django-csp's check reads CSP_* settings as its 3.x format)
_csp_report_uri = env.str("CSP_REPORT_URI", default="/csp-report/")
# Reports accepted per client address (the endpoint logs each one): "60/min"; empty = no limit.
SECURITY_REPORT_RATE = env.str("CSP_REPORT_RATE", default="60/min")
INSTALLED_APPS.append("csp")  # its checks of the settings' format
MIDDLEWARE.insert(MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1,
                  "core.csp.SiteCSPMiddleware")
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:", *filter(None, [_origin_of(MAP_TILE_URL)])],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'", *(["https://accounts.google.com"] if SOCIALACCOUNT_PROVIDERS else [])],
        "frame-ancestors": ["'none'"],
        "report-uri": [_csp_report_uri] if _csp_report_uri else None,
    },
}

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {"()": "core.logging.JsonFormatter"},
    },
    "filters": {"request_id": {"()": "core.logging.RequestIdFilter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "filters": ["request_id"],
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.request": {"level": "ERROR"},
        "django.server": {"level": "WARNING"},
        "daphne": {"level": "WARNING"},
        # protocol libraries log every subscription notification at INFO
        "asyncua": {"level": "WARNING"},
        "pymodbus": {"level": "WARNING"},
    },
}

# Debian 12 ships GDAL 3.6; its lack of file/network blocking (gis.W001) is accepted:
# geometry input comes from authenticated staff and GeoJSON/WKT, never remote references.
SILENCED_SYSTEM_CHECKS = ["gis.W001"]
WHITENOISE_USE_FINDERS = DEBUG or TESTING

# --- iot ---
# Device registry, ingestion and the project's Mosquitto (see README, IoT ingestion).
# A device is offline after this many expected intervals without data.
IOT_OFFLINE_AFTER_INTERVALS = env.int("IOT_OFFLINE_AFTER_INTERVALS", default=3)
# Readings older than this many days or further ahead than this many seconds are refused.
IOT_TS_MAX_AGE_DAYS = env.int("IOT_TS_MAX_AGE_DAYS", default=5 * 366)
IOT_TS_MAX_AHEAD_S = env.int("IOT_TS_MAX_AHEAD_S", default=900)
# Largest batch one HTTP request or one ingest call may carry.
IOT_MAX_BATCH = env.int("IOT_MAX_BATCH", default=10_000)
# Largest device document (HTTP body or MQTT payload), checked before it is read or parsed
# (413 over HTTP, a dead letter over MQTT), and its deepest nesting of lists/objects.
IOT_MAX_BODY_BYTES = env.int("IOT_MAX_BODY_BYTES", default=4 * 1024 * 1024)
IOT_PAYLOAD_MAX_DEPTH = env.int("IOT_PAYLOAD_MAX_DEPTH", default=32)
# Dead letters older than this many days are deleted (beat task, daily).
IOT_DEAD_LETTER_RETENTION_DAYS = env.int("IOT_DEAD_LETTER_RETENTION_DAYS", default=90)
# Alert emails that failed are sent again by a beat sweep (every 5 minutes) up to this age.
IOT_ALERT_NOTIFY_MAX_AGE_HOURS = env.int("IOT_ALERT_NOTIFY_MAX_AGE_HOURS", default=24)
# Monthly partitions of iot_reading kept ahead of today (beat task, `manage.py iot_partitions`).
IOT_PARTITIONS_MONTHS_AHEAD = env.int("IOT_PARTITIONS_MONTHS_AHEAD", default=3)
IOT_PARTITIONS_MONTHS_BACK = env.int("IOT_PARTITIONS_MONTHS_BACK", default=12)
# Live fan-out: at most this many readings per device in one live message (newest kept).
IOT_LIVE_MAX_READINGS = env.int("IOT_LIVE_MAX_READINGS", default=100)
# a device command without acknowledgement for this long fails (beat task, every minute)
IOT_COMMAND_ACK_TIMEOUT_S = env.int("IOT_COMMAND_ACK_TIMEOUT_S", default=300)
# The project's Mosquitto: generated password/ACL files and config live here.
MQTT_AUTH_DIR = Path(env.str("MQTT_AUTH_DIR", default=str(BASE_DIR / "var" / "mosquitto")))
MQTT_KEEPALIVE_S = env.int("MQTT_KEEPALIVE_S", default=30)
MQTT_BRIDGE_CLIENT_ID = env.str("MQTT_BRIDGE_CLIENT_ID", default="commonwatt-bridge")
# Several bridges share the load as one consumer group (MQTT shared subscriptions,
# `$share/<group>/devices/+/telemetry`): give each its own MQTT_BRIDGE_CLIENT_ID. Empty:
# a plain subscription (one bridge).
MQTT_BRIDGE_SHARE_GROUP = env.str("MQTT_BRIDGE_SHARE_GROUP", default="")
# Bridge batching: ingest once per this many messages or this many milliseconds.
MQTT_BRIDGE_BATCH_MESSAGES = env.int("MQTT_BRIDGE_BATCH_MESSAGES", default=500)
MQTT_BRIDGE_BATCH_MS = env.int("MQTT_BRIDGE_BATCH_MS", default=50)
# Threads storing batches (each with its own database connection): 2 overlaps one batch's
# Python work with another's database round trips.
MQTT_BRIDGE_WORKERS = env.int("MQTT_BRIDGE_WORKERS", default=2)
# Messages received but not yet stored; when full, paho stops reading the socket (back-pressure).
MQTT_BRIDGE_INBOX_MAX = env.int("MQTT_BRIDGE_INBOX_MAX", default=5_000)
# The simulator publishes on behalf of the demo devices with its own broker account.
MQTT_SIMULATOR_USERNAME = env.str("MQTT_SIMULATOR_USERNAME", default="commonwatt-simulator")
MQTT_SIMULATOR_PASSWORD = _mandatory("MQTT_SIMULATOR_PASSWORD", "commonwatt-simulator-dev")
# Rewrite the broker's password/ACL files (and reload it) whenever a device is registered,
# rotated or (de)activated, so a revoked secret stops working within seconds; on by default
# (production too), off in tests (which sync their own broker).
MQTT_AUTO_SYNC_AUTH = env.bool("MQTT_AUTO_SYNC_AUTH", default=not TESTING)
# Devices' TLS listeners of the same broker, on MQTT_DEVICE_HOST (iot/bridges/mqtt_tls.py):
# username/password over TLS, and client certificates (CN = serial); 0 turns one off.
MQTT_TLS_PORT = env.int("MQTT_TLS_PORT", default=8883)
MQTT_TLS_CERT_PORT = env.int("MQTT_TLS_CERT_PORT", default=8884)
# Server certificate and key (the certificate followed by its intermediates), the CA whose
# client certificates the certificate listener accepts, and its revocation list. Empty in
# development: certificates generated once into MQTT_TLS_DIR; required with DEBUG=0 while a
# TLS listener is on (the development ones name only localhost and nobody trusts their CA).
MQTT_TLS_DIR = Path(env.str("MQTT_TLS_DIR", default=str(BASE_DIR / "var" / "mqtt-tls")))
_MQTT_TLS = bool(MQTT_TLS_PORT or MQTT_TLS_CERT_PORT)
MQTT_TLS_CERT_FILE = (_mandatory("MQTT_TLS_CERT_FILE", "") if _MQTT_TLS
                      else env.str("MQTT_TLS_CERT_FILE", default=""))
MQTT_TLS_KEY_FILE = (_mandatory("MQTT_TLS_KEY_FILE", "") if _MQTT_TLS
                     else env.str("MQTT_TLS_KEY_FILE", default=""))
MQTT_TLS_CA_FILE = (_mandatory("MQTT_TLS_CA_FILE", "") if MQTT_TLS_CERT_PORT
                    else env.str("MQTT_TLS_CA_FILE", default=""))
MQTT_TLS_CRL_FILE = env.str("MQTT_TLS_CRL_FILE", default="")
if bool(MQTT_TLS_CERT_FILE) != bool(MQTT_TLS_KEY_FILE):
    raise ImproperlyConfigured("MQTT_TLS_CERT_FILE and MQTT_TLS_KEY_FILE go together (see README, "
                               "Configuration, IoT ingestion).")

# --- communities and plants: schema enum names (several models have a `status`/`role`) ---
SPECTACULAR_SETTINGS.setdefault("ENUM_NAME_OVERRIDES", {}).update({
    "CommunityStatusEnum": "communities.models.CommunityStatus",
    "ConfigurationStatusEnum": "communities.models.ConfigurationStatus",
    "MembershipStatusEnum": "communities.models.MembershipStatus",
    "MembershipRoleEnum": "communities.models.MembershipRole",
    "TransactionStatusEnum": "communities.models.TransactionStatus",
    "PlantStatusEnum": "plants.models.PlantStatus",
})

# --- accounts: OpenAPI enum names (the users' role/status differ from memberships') ---
SPECTACULAR_SETTINGS.setdefault("ENUM_NAME_OVERRIDES", {}).update({
    "UserRoleEnum": "accounts.models.Role",
    "UserStatusEnum": "accounts.models.UserStatus",
    "MemberTypeEnum": "accounts.models.MemberType",
    "UserTypeEnum": "accounts.models.UserType",
})

# --- simulation ---
# Optimal dispatch LP: "highspy" (HiGHS from numpy arrays) or "pulp" (PuLP with HiGHS, else
# CBC); rolling window length (days) and a per-window solver time limit (a timed-out window
# fails the run with a message, never a silent fallback). SSE progress streams are bounded.
SIMULATION_LP_BACKEND = env.str("SIMULATION_LP_BACKEND", default="highspy")
if SIMULATION_LP_BACKEND not in ("highspy", "pulp"):
    raise ImproperlyConfigured("SIMULATION_LP_BACKEND must be 'highspy' or 'pulp'.")
SIMULATION_LP_WINDOW_DAYS = env.int("SIMULATION_LP_WINDOW_DAYS", default=7)
SIMULATION_LP_TIME_LIMIT_S = env.float("SIMULATION_LP_TIME_LIMIT_S", default=120.0)
SIMULATION_SSE_MAX_S = env.int("SIMULATION_SSE_MAX_S", default=900)
SIMULATION_SSE_POLL_S = env.float("SIMULATION_SSE_POLL_S", default=0.5)
# Simulations run on their own queue (a second worker, Procfile `simworker`) so that a long
# LP never starves rollups, offline alerts and command expiry on the default queue. Tests
# derive it from CELERY_QUEUE so that parallel test runs never share it.
SIMULATION_QUEUE = env.str(
    "SIMULATION_QUEUE", default=f"{CELERY_TASK_DEFAULT_QUEUE}-simulation" if TESTING else "simulation"
)
CELERY_TASK_ROUTES = {"simulation.run": {"queue": SIMULATION_QUEUE}}
SIMULATION_MAX_MEMBERS = env.int("SIMULATION_MAX_MEMBERS", default=500)
SIMULATION_MAX_PLANTS = env.int("SIMULATION_MAX_PLANTS", default=200)
SIMULATION_MAX_BATTERIES = env.int("SIMULATION_MAX_BATTERIES", default=200)
SIMULATION_MAX_STEPS = env.int("SIMULATION_MAX_STEPS", default=366 * 96)  # a leap year at 15 min
SIMULATION_MAX_CSV_BYTES = env.int("SIMULATION_MAX_CSV_BYTES", default=10 * 1024 * 1024)
SIMULATION_MAX_CONCURRENT_PER_USER = env.int("SIMULATION_MAX_CONCURRENT_PER_USER", default=2)
SIMULATION_STUCK_AFTER_S = env.int("SIMULATION_STUCK_AFTER_S", default=3600)
SIMULATION_WS_MAX_S = env.int("SIMULATION_WS_MAX_S", default=3600)
SIMULATION_STREAM_RECHECK_S = env.float("SIMULATION_STREAM_RECHECK_S", default=30.0)

# --- iot queries ---
# Telemetry reads (iot/read/selectors.py): the most points one series request may return (raw or a
# rollup; "auto" stays under 2,000), and the SSE heartbeat (`: heartbeat` comment) interval.
IOT_QUERY_MAX_POINTS = env.int("IOT_QUERY_MAX_POINTS", default=100_000)
IOT_SSE_HEARTBEAT_S = env.float("IOT_SSE_HEARTBEAT_S", default=15.0)
# Live streams (ws/telemetry/, /api/v1/iot/stream) check the right to follow their subject
# again this often (4403 when gone) and end after this long (4408: reconnect).
IOT_STREAM_RECHECK_S = env.float("IOT_STREAM_RECHECK_S", default=30.0)
IOT_STREAM_MAX_LIFETIME_S = env.float("IOT_STREAM_MAX_LIFETIME_S", default=3600.0)
# Under ASGI (daphne, uvicorn) Django runs each request's sync code in a thread of its own, so
# persistent connections (DB_CONN_MAX_AGE) are never reused and every API request pays a new
# PostgreSQL connection (~13 ms here). DB_POOL=1 uses psycopg's pool instead (needs the
# psycopg-pool package); see README, Benchmarks (query).
if env.bool("DB_POOL", default=False):
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": env.int("DB_POOL_MIN", default=2), "max_size": env.int("DB_POOL_MAX", default=20),
    }

# --- accounts: client IP behind reverse proxies (throttling of the auth API) ---
# 0: the client is REMOTE_ADDR and X-Forwarded-For is ignored (a client could put anything in
# it); behind N reverse proxies set NUM_PROXIES=N.
REST_FRAMEWORK["NUM_PROXIES"] = env.int("NUM_PROXIES", default=0)
# The admin login, per client IP (POSTs only; accounts/throttles.py).
ADMIN_LOGIN_RATE = env.str("ADMIN_LOGIN_RATE", default="10/min")
# Account emails go through an outbox (accounts/outbox.py): the beat sweep sends rows the
# Celery task has not sent after this many seconds, up to this many attempts each.
ACCOUNT_EMAIL_SWEEP_AFTER_S = env.int("ACCOUNT_EMAIL_SWEEP_AFTER_S", default=60)
ACCOUNT_EMAIL_MAX_ATTEMPTS = env.int("ACCOUNT_EMAIL_MAX_ATTEMPTS", default=5)
# --- statements: the email outbox (statements.outbox) ---
STATEMENT_EMAIL_SWEEP_AFTER_S = env.int("STATEMENT_EMAIL_SWEEP_AFTER_S", default=120)
STATEMENT_EMAIL_CLAIM_TIMEOUT_S = env.int("STATEMENT_EMAIL_CLAIM_TIMEOUT_S", default=900)
STATEMENT_EMAIL_MAX_ATTEMPTS = env.int("STATEMENT_EMAIL_MAX_ATTEMPTS", default=5)
# the PDFs' font (DejaVu Sans, fonts-dejavu-core); Helvetica when absent (statements/pdf.py)
STATEMENT_PDF_FONT_DIR = env.str("STATEMENT_PDF_FONT_DIR", default="/usr/share/fonts/truetype/dejavu")
# One-time login links (they let a locked-out owner in): valid this long.
LOGIN_LINK_MAX_AGE_S = env.int("LOGIN_LINK_MAX_AGE_S", default=15 * 60)
# Retention (beat task `auth_retention`): expired refresh tokens and sessions are deleted
# this many days after expiry; account emails this many days after they were queued.
AUTH_RETENTION_DAYS = env.int("AUTH_RETENTION_DAYS", default=7)
ACCOUNT_EMAIL_RETENTION_DAYS = env.int("ACCOUNT_EMAIL_RETENTION_DAYS", default=30)

# --- platform: OpenAPI names of enums whose field names collide across apps -----------
# (`manage.py check --deploy` must report nothing; drf-spectacular warns on such collisions)
SPECTACULAR_SETTINGS.setdefault("ENUM_NAME_OVERRIDES", {}).update({
    "DeviceKindEnum": "iot.models.DeviceKind",
    "AssetKindEnum": "plants.models.AssetKind",
    "RegimeEnum": "communities.models.Regime",
    "RunStatusEnum": "simulation.models.RunStatus",
})

# --- communities: the browsable (HTML) API only while DEBUG (issue 8, item 4) ---------
# The negotiation class drops DRF's BrowsableAPIRenderer per request unless settings.DEBUG.
REST_FRAMEWORK["DEFAULT_CONTENT_NEGOTIATION_CLASS"] = "core.drf.DebugOnlyBrowsableNegotiation"
# Days an invitation to join a community stays open (issue 8, item 2).
COMMUNITY_INVITATION_DAYS = env.int("COMMUNITY_INVITATION_DAYS", default=14)

# --- ops: API rate limits (core/throttles.py) ---
# Per user for the whole API, and per client address for anonymous calls; 429 + Retry-After.
# Under TESTING the defaults are high so that the suite's many requests per user pass; tests
# of the limits set low rates with override_settings.
API_USER_RATE = env.str("API_USER_RATE", default="100000/min" if TESTING else "100/min")
API_ANON_RATE = env.str("API_ANON_RATE", default="100000/min" if TESTING else "60/min")
REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"] = ["core.throttles.ApiUserRateThrottle"]
REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"].append("core.throttles.AnonymousCallThrottle")

# --- ops: other origins (django-cors-headers), only under /api/ ---
# Browser apps served from these origins (scheme://host[:port]) may call the API with a token.
INSTALLED_APPS.append("corsheaders")
MIDDLEWARE.insert(MIDDLEWARE.index("core.middleware.RequestIdMiddleware") + 1,
                  "corsheaders.middleware.CorsMiddleware")
CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=[])
CORS_URLS_REGEX = r"^/api/.*$"
CORS_EXPOSE_HEADERS = ["X-Request-ID", "Retry-After"]
CORS_PREFLIGHT_MAX_AGE = 3600

# --- ops: Prometheus metrics at /metrics (core/metrics.py) ---
# Scrapers send `Authorization: Bearer <METRICS_TOKEN>`. With several processes (`make run`,
# scripts/web.sh) set PROMETHEUS_MULTIPROC_DIR (read by prometheus-client itself).
METRICS_TOKEN = _mandatory("METRICS_TOKEN", "commonwatt-dev-metrics-token")
MIDDLEWARE.insert(MIDDLEWARE.index("core.middleware.RequestIdMiddleware") + 1,
                  "core.metrics.MetricsMiddleware")

# --- ops: optional error reporting (core/sentry.py); without a DSN nothing is initialised ---
SENTRY_DSN = env.str("SENTRY_DSN", default="")
if SENTRY_DSN:
    from core.sentry import init_sentry

    init_sentry(SENTRY_DSN, environment=env.str("SENTRY_ENVIRONMENT", default=""),
                traces_sample_rate=env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0))

# --- billing ---
from decimal import Decimal  # noqa: E402

# Ledger, wallets and payments (see README, Billing). Which payment provider serves
# top-ups and payouts: "dev" (offline checkout page, DEBUG only), "stripe" or "razorpay".
BILLING_PROVIDER = env.str("BILLING_PROVIDER", default="dev" if DEBUG else "stripe")
if BILLING_PROVIDER not in ("dev", "stripe", "razorpay"):
    raise ImproperlyConfigured("BILLING_PROVIDER must be dev, stripe or razorpay.")
if BILLING_PROVIDER == "dev" and not DEBUG:
    raise ImproperlyConfigured("BILLING_PROVIDER=dev lets a tester confirm payments; set stripe or "
                               "razorpay when DEBUG=0 (see README, Billing).")
BILLING_CURRENCY = env.str("BILLING_CURRENCY", default="EUR")
BILLING_DEV_SECRET = env.str("BILLING_DEV_SECRET", default="dev-insecure-billing-webhook-secret")
# The secrets of the provider in use are required when DEBUG is off.
_STRIPE, _RAZORPAY = BILLING_PROVIDER == "stripe", BILLING_PROVIDER == "razorpay"
STRIPE_SECRET_KEY = (_mandatory("STRIPE_SECRET_KEY", "sk_test_dev-insecure") if _STRIPE
                     else env.str("STRIPE_SECRET_KEY", default=""))
STRIPE_WEBHOOK_SECRET = (_mandatory("STRIPE_WEBHOOK_SECRET", "whsec_dev-insecure") if _STRIPE
                         else env.str("STRIPE_WEBHOOK_SECRET", default=""))
STRIPE_API_BASE = env.str("STRIPE_API_BASE", default="https://api.stripe.com")
STRIPE_WEBHOOK_TOLERANCE_S = env.int("STRIPE_WEBHOOK_TOLERANCE_S", default=300)
RAZORPAY_KEY_ID = (_mandatory("RAZORPAY_KEY_ID", "rzp_test_dev-insecure") if _RAZORPAY
                   else env.str("RAZORPAY_KEY_ID", default=""))
RAZORPAY_KEY_SECRET = (_mandatory("RAZORPAY_KEY_SECRET", "dev-insecure") if _RAZORPAY
                       else env.str("RAZORPAY_KEY_SECRET", default=""))
RAZORPAY_WEBHOOK_SECRET = (_mandatory("RAZORPAY_WEBHOOK_SECRET", "dev-insecure") if _RAZORPAY
                           else env.str("RAZORPAY_WEBHOOK_SECRET", default=""))
RAZORPAY_ACCOUNT_NUMBER = env.str("RAZORPAY_ACCOUNT_NUMBER", default="")
RAZORPAY_API_BASE = env.str("RAZORPAY_API_BASE", default="https://api.razorpay.com")
BILLING_PROVIDER_TIMEOUT_S = env.float("BILLING_PROVIDER_TIMEOUT_S", default=10.0)
# Withdrawals per member per UTC day (sum of amounts, EUR); one top-up or withdrawal at most.
BILLING_WITHDRAW_DAILY_LIMIT_EUR = Decimal(env.str("BILLING_WITHDRAW_DAILY_LIMIT_EUR", default="1000"))
BILLING_MAX_AMOUNT_EUR = Decimal(env.str("BILLING_MAX_AMOUNT_EUR", default="10000"))
# Platform fee on P2P transfers, in percent of the amount (rounded half-up to the cent).
BILLING_P2P_FEE_PCT = Decimal(env.str("BILLING_P2P_FEE_PCT", default="1"))

# --- pricing ---
# Largest price file (CSV or GME XML) the admin form or `prices_import` accepts.
PRICING_IMPORT_MAX_MB = env.int("PRICING_IMPORT_MAX_MB", default=20)

# --- settlement ---
# Own meters and the grid operator's official curves "differ" in an interval beyond both
# tolerances (absolute kWh and % of the official value): reported before approval.
SETTLEMENT_CURVE_TOLERANCE_KWH = env.float("SETTLEMENT_CURVE_TOLERANCE_KWH", default=0.05)
SETTLEMENT_CURVE_TOLERANCE_PCT = env.float("SETTLEMENT_CURVE_TOLERANCE_PCT", default=2.0)
# Largest official-curve CSV the admin form or `curves_import` accepts.
SETTLEMENT_IMPORT_MAX_MB = env.int("SETTLEMENT_IMPORT_MAX_MB", default=50)
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"].update({
    "SettlementRunKindEnum": "settlement.models.RunKind",
    "SettlementRunStatusEnum": "settlement.models.RunStatus",
})
# --- market (peer-to-peer, regime p2p) ---
INSTALLED_APPS.append("market")
# Highest offer price a host may publish (EUR/kWh) and longest offer validity (days).
MARKET_MAX_PRICE_EUR_PER_KWH = Decimal(env.str("MARKET_MAX_PRICE_EUR_PER_KWH", default="2"))
MARKET_OFFER_MAX_DAYS = env.int("MARKET_OFFER_MAX_DAYS", default=366)
# The beat task settles intervals that ended at least DELAY minutes ago (late meter data),
# looking back LOOKBACK hours (intervals whose data came later are settled then).
MARKET_SETTLE_DELAY_MINUTES = env.int("MARKET_SETTLE_DELAY_MINUTES", default=30)
MARKET_SETTLE_LOOKBACK_HOURS = env.int("MARKET_SETTLE_LOOKBACK_HOURS", default=48)
# --- forecasts ---
# Weather forecast provider for the PV forecasts: "" (off), "open-meteo" or "openweathermap".
WEATHER_PROVIDER = env.str("WEATHER_PROVIDER", default="")
if WEATHER_PROVIDER not in ("", "open-meteo", "openweathermap"):
    raise ImproperlyConfigured("WEATHER_PROVIDER must be empty, open-meteo or openweathermap.")
WEATHER_API_KEY = (_mandatory("WEATHER_API_KEY", "dev-insecure") if WEATHER_PROVIDER == "openweathermap"
                   else env.str("WEATHER_API_KEY", default=""))
WEATHER_BASE_URL = env.str("WEATHER_BASE_URL", default="")
WEATHER_TIMEOUT_S = env.float("WEATHER_TIMEOUT_S", default=10.0)
# History the learned models train on (days) and the forecast horizon (hours).
FORECAST_HISTORY_DAYS = env.int("FORECAST_HISTORY_DAYS", default=28)
FORECAST_HORIZON_HOURS = env.int("FORECAST_HORIZON_HOURS", default=48)

# --- notifications (issue 12) ---
INSTALLED_APPS.append("notifications")
# Quiet hours use the user's time zone, else their community's, else this one.
NOTIFICATIONS_DEFAULT_TIME_ZONE = env.str("NOTIFICATIONS_DEFAULT_TIME_ZONE", default="Europe/Rome")
NOTIFICATIONS_MAX_ATTEMPTS = env.int("NOTIFICATIONS_MAX_ATTEMPTS", default=6)
NOTIFICATIONS_RETRY_BASE_S = env.int("NOTIFICATIONS_RETRY_BASE_S", default=30)  # doubles per attempt
NOTIFICATIONS_RETRY_MAX_S = env.int("NOTIFICATIONS_RETRY_MAX_S", default=3600)
# A delivery claimed this long ago and never marked: its worker died; it is not sent again.
NOTIFICATIONS_STUCK_AFTER_S = env.int("NOTIFICATIONS_STUCK_AFTER_S", default=300)
NOTIFICATIONS_SEND_TIMEOUT_S = env.float("NOTIFICATIONS_SEND_TIMEOUT_S", default=10.0)
NOTIFICATIONS_WS_RECHECK_S = env.float("NOTIFICATIONS_WS_RECHECK_S", default=60.0)
# Web push (VAPID, RFC 8292): required in production; development generates var/dev-vapid.json.
from notifications.vapid import dev_vapid_keys  # noqa: E402

_DEV_VAPID = dev_vapid_keys(BASE_DIR / "var" / "dev-vapid.json") if (DEBUG or TESTING) else {}
VAPID_PRIVATE_KEY = _mandatory("VAPID_PRIVATE_KEY", _DEV_VAPID.get("private", ""))
VAPID_PUBLIC_KEY = _mandatory("VAPID_PUBLIC_KEY", _DEV_VAPID.get("public", ""))
VAPID_SUBJECT = env.str("VAPID_SUBJECT", default=f"mailto:{DEFAULT_FROM_EMAIL.split('<')[-1].rstrip('>')}")
WEBPUSH_TTL_S = env.int("WEBPUSH_TTL_S", default=24 * 3600)
# The push services a subscription may point at (host or parent domain): the server POSTs
# to the endpoint a browser gives, so an arbitrary one would let a user aim it anywhere.
WEBPUSH_ALLOWED_HOSTS = env.list("WEBPUSH_ALLOWED_HOSTS", default=[
    "fcm.googleapis.com", "push.services.mozilla.com", "notify.windows.com", "push.apple.com"])
WEBPUSH_REQUIRE_HTTPS = True
# SMS: "console" (development: logged, DEBUG only), "twilio", or "" (no SMS).
SMS_PROVIDER = env.str("SMS_PROVIDER", default="console" if DEBUG or TESTING else "")
if SMS_PROVIDER == "console" and not (DEBUG or TESTING):
    raise ImproperlyConfigured("SMS_PROVIDER=console only logs messages; set twilio or leave it "
                               "empty when DEBUG=0 (see README, Notifications).")
if SMS_PROVIDER not in ("", "console", "twilio"):
    raise ImproperlyConfigured(f"SMS_PROVIDER={SMS_PROVIDER!r}: use console, twilio or leave it empty.")
_TWILIO = SMS_PROVIDER == "twilio"
TWILIO_ACCOUNT_SID = (_mandatory("TWILIO_ACCOUNT_SID", "ACdev-insecure") if _TWILIO
                      else env.str("TWILIO_ACCOUNT_SID", default=""))
TWILIO_AUTH_TOKEN = (_mandatory("TWILIO_AUTH_TOKEN", "dev-insecure-twilio-token") if _TWILIO
                     else env.str("TWILIO_AUTH_TOKEN", default=""))
TWILIO_FROM_NUMBER = env.str("TWILIO_FROM_NUMBER", default="")
TWILIO_MESSAGING_SERVICE_SID = env.str("TWILIO_MESSAGING_SERVICE_SID", default="")
TWILIO_API_BASE = env.str("TWILIO_API_BASE", default="https://api.twilio.com")
# --- privacy: audit log, GDPR, API keys, Google sign-in (README, Privacy) ---
INSTALLED_APPS += ["audit", "privacy"]
REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"].append("privacy.apikeys.ApiKeyAuthentication")
REST_FRAMEWORK["DEFAULT_PERMISSION_CLASSES"].append("privacy.consent.PolicyAccepted")
MIDDLEWARE.insert(MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1,
                  "privacy.middleware.ConsentMiddleware")
# GDPR export archives: where they are built, how long the emailed link and the file live.
PRIVACY_EXPORT_DIR = Path(env.str("PRIVACY_EXPORT_DIR", default=str(BASE_DIR / "var" / "exports")))
PRIVACY_EXPORT_LINK_MAX_AGE_S = env.int("PRIVACY_EXPORT_LINK_MAX_AGE_S", default=48 * 3600)
# Retention (beat task `privacy_retention`), in days.
PRIVACY_EXPORT_RETENTION_DAYS = env.int("PRIVACY_EXPORT_RETENTION_DAYS", default=7)
AUDIT_RETENTION_DAYS = env.int("AUDIT_RETENTION_DAYS", default=3650)
# Google sign-in (POST /api/v1/auth/google): the OAuth client id is the ID token audience.
GOOGLE_CLIENT_ID = env.str("GOOGLE_CLIENT_ID", default="")
GOOGLE_CERTS_URL = env.str("GOOGLE_CERTS_URL",
                           default="https://www.googleapis.com/oauth2/v1/certs")
GOOGLE_CERTS_CACHE_S = env.int("GOOGLE_CERTS_CACHE_S", default=3600)
GOOGLE_CERTS_TIMEOUT_S = env.float("GOOGLE_CERTS_TIMEOUT_S", default=5.0)
