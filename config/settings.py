"""Settings for the bank feeds portal: one module, every value from the environment.

The defaults run the demo on a laptop: SQLite under var/, local-memory cache, the
embedded Xero sandbox. Production sets DEBUG=0, SECRET_KEY, TOKEN_ENCRYPTION_KEY,
DATABASE_URL, REDIS_URL, SITE_URL and the XERO_* values.
"""

import os
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from celery.schedules import crontab
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


def envbool(name, default):
    return os.environ.get(name, default).strip().lower() in ("1", "true", "yes", "on")


def envint(name, default):
    return int(os.environ.get(name, default))


DEBUG = envbool("DEBUG", "1")
# The demo key is public on purpose; check --deploy flags it once DEBUG is off.
SECRET_KEY = os.environ.get("SECRET_KEY", "django-insecure-demo-key-do-not-use-in-production")
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
_site = urlsplit(SITE_URL)
ALLOWED_HOSTS = os.environ.get("ALLOWED_HOSTS", f"{_site.hostname},localhost,127.0.0.1").split(",")
CSRF_TRUSTED_ORIGINS = [f"{_site.scheme}://{_site.netloc}"]

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
    "django_htmx",
    "template_partials",
    "allauth",
    "allauth.account",
    "apps.api",
    "apps.tenants",
    "apps.xero_auth",
    "apps.feeds",
    "apps.webhooks",
    "apps.mapping_ui",
    "apps.demo",
]

# Sessions, language, users, messages and htmx are pages' only: apps/core/middleware.py
# has Django's classes passed through by the partner API's requests.
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "apps.core.middleware.SessionMiddleware",
    "apps.core.middleware.LocaleMiddleware",
    "apps.mapping_ui.middleware.PartnerLanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    # The partner API's edge: bodies over the limit, NUL in a path or query, ids too long
    # to store, refused as a 400 before anything runs.
    "apps.api.middleware.ApiEdgeMiddleware",
    # DRF's answers untied on the way out: freed by reference counting, not the cycle collector.
    "apps.api.middleware.ReleaseCyclesMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "apps.core.middleware.AuthenticationMiddleware",
    "apps.core.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "apps.tenants.audit.AuditActorMiddleware",
    "apps.core.middleware.HtmxMiddleware",
    # A page whose work needs the shared cache while it is unreachable: a 503, not a 500.
    "apps.mapping_ui.middleware.DependencyUnavailableMiddleware",
]
# Request bodies (the partner API's, and forms): Xero's own limit for a statement request.
# A push of 1000 lines with every text field at Xero's limit is about 2.6 MB.
DATA_UPLOAD_MAX_MEMORY_SIZE = envint("MAX_REQUEST_BYTES", "3000000")

ROOT_URLCONF = "config.urls"
# Pages the lower apps link to, by URL name (apps.core.urls.page_url), so that none of
# them imports the portal that serves them.
PAGE_URL_NAMES = {"company": "portal:company", "link": "portal:link", "oauth_callback": "portal:xero_callback",
                  "start": "portal:start"}
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
                "django.template.context_processors.i18n",
                "apps.mapping_ui.context_processors.portal",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{BASE_DIR / 'var' / 'db.sqlite3'}"),
        conn_max_age=envint("CONN_MAX_AGE", "0"),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and envbool("DB_PREPARED_STATEMENTS", "1"):
    # The written-out statements of every push and API request (apps.core.rows.cursor) are
    # prepared the second time they run on a connection (so one that lives for a request
    # alone, CONN_MAX_AGE=0, never pays the extra round trip); Django's own cursors bind
    # parameters on the client and are never prepared. DB_PREPARED_STATEMENTS=0 behind a
    # pooler that cannot keep them (PgBouncer in transaction mode before 1.21).
    DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = 1
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The demo's threaded server writes from several threads; wait for the lock
    # instead of failing with "database is locked".
    DATABASES["default"]["OPTIONS"] = {"timeout": 20, "transaction_mode": "IMMEDIATE"}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    # A Redis that stops answering fails a request in seconds (503), instead of holding it.
    _redis_timeout = float(os.environ.get("REDIS_TIMEOUT_SECONDS", "2"))
    CACHES = {"default": {"BACKEND": "apps.core.redis.RedisCache", "LOCATION": REDIS_URL,
                          "OPTIONS": {"socket_connect_timeout": _redis_timeout, "socket_timeout": _redis_timeout}}}
else:
    # One process only: the rate limiter and locks built on the cache stay correct
    # for the demo's single server.
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("fr", _("French"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "var" / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = BASE_DIR / "var" / "media"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# allauth: portal users sign in by email; they arrive by link or invitation, so
# signup is closed by the adapter.
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = "username"
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_ADAPTER = "apps.tenants.adapters.NoSignupAccountAdapter"
ACCOUNT_RATE_LIMITS = {"login_failed": "5/5m/ip,5/5m/key"}
# Login limits count per client address. X-Forwarded-For is written by clients too: only the
# entries added by this many proxies of ours (in front of gunicorn) are believed; 0 means
# none, and the limit keys on the connection's own address.
ALLAUTH_TRUSTED_PROXY_COUNT = envint("TRUSTED_PROXY_COUNT", "0")
LOGIN_URL = "/portal/accounts/login/"
LOGIN_REDIRECT_URL = "/portal/"
ACCOUNT_LOGOUT_REDIRECT_URL = "/portal/accounts/login/"

# E-mail (allauth's password reset): Django's usual settings from the environment. The
# demo (DEBUG) prints messages on the console; production sends by SMTP.
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend" if DEBUG
                               else "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = envint("EMAIL_PORT", "25")
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = envbool("EMAIL_USE_TLS", "0")
EMAIL_USE_SSL = envbool("EMAIL_USE_SSL", "0")
EMAIL_TIMEOUT = envint("EMAIL_TIMEOUT", "10")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", f"Bank feeds <no-reply@{_site.hostname}>")
SERVER_EMAIL = os.environ.get("SERVER_EMAIL", DEFAULT_FROM_EMAIL)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["apps.xero_auth.authentication.ConnectionKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["apps.tenants.authentication.IsPartner"],
    "DEFAULT_PAGINATION_CLASS": "apps.api.paging.CodatPagination",
    "EXCEPTION_HANDLER": "apps.api.errors.codat_exception_handler",
    # Amounts written as the exact decimals they are.
    "DEFAULT_RENDERER_CLASSES": ["apps.api.renderers.CodatJSONRenderer"],
    # JSON nested at most 32 deep, numbers exact, text PostgreSQL can store (else a 400).
    "DEFAULT_PARSER_CLASSES": ["apps.api.parsers.CodatJSONParser"],
    "DEFAULT_SCHEMA_CLASS": "apps.api.schema.CodatAutoSchema",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Bank Feeds (Codat-compatible)",
    # The introduction partners read first in /api/docs/.
    "DESCRIPTION": (BASE_DIR / "config" / "api_introduction.md").read_text(),
    "TAGS": [
        {"name": "Companies", "description": "The partner's SMB customers."},
        {"name": "Connections", "description": "A company's connection to its Xero organisation."},
        {"name": "Source accounts", "description": "The partner's bank accounts of a company, to feed to Xero."},
        {"name": "Account mapping", "description": "Which Xero bank account each source account feeds."},
        {"name": "Company information", "description": "What Xero says of the organisation."},
        {"name": "Transactions", "description": "Pushing bank transactions, and the push operations."},
    ],
    "VERSION": "3.0.0",
    "SCHEMA_PATH_PREFIX": "/api",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SERVE_AUTHENTICATION": [],
    # Served from static/, never a CDN: deployments may have no internet.
    "REDOC_DIST": "SIDECAR",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "apps.api.schema.add_error_messages",
    ],
    "ENUM_NAME_OVERRIDES": {
        "ConnectionStatusEnum": "apps.xero_auth.models.ConnectionStatus",
        "SourceAccountStatusEnum": "apps.feeds.models.SourceAccountStatus",
        "PushOperationStatusEnum": "apps.feeds.models.PushStatus",
    },
}

# Xero. Unset client id means: use the embedded sandbox with the portal's demo app.
XERO_CLIENT_ID = os.environ.get("XERO_CLIENT_ID", "")
XERO_SANDBOX = envbool("XERO_SANDBOX", "1" if (DEBUG and not XERO_CLIENT_ID) else "0")
XERO_SANDBOX_AUTO_APPROVE = envbool("XERO_SANDBOX_AUTO_APPROVE", "0")
if XERO_SANDBOX and not XERO_CLIENT_ID:
    # The demo seed registers exactly this app in the sandbox.
    XERO_CLIENT_ID = "sandbox-portal-client"
    XERO_CLIENT_SECRET = os.environ.get("XERO_CLIENT_SECRET", "sandbox-portal-secret")
else:
    XERO_CLIENT_SECRET = os.environ.get("XERO_CLIENT_SECRET", "")
_xero_default = f"{SITE_URL}/xero-sandbox" if XERO_SANDBOX else None
XERO_LOGIN_URL = os.environ.get("XERO_LOGIN_URL", _xero_default or "https://login.xero.com").rstrip("/")
XERO_IDENTITY_URL = os.environ.get("XERO_IDENTITY_URL", _xero_default or "https://identity.xero.com").rstrip("/")
XERO_API_URL = os.environ.get("XERO_API_URL", _xero_default or "https://api.xero.com").rstrip("/")
XERO_SCOPES = os.environ.get("XERO_SCOPES", "offline_access bankfeeds accounting.settings.read").split()
XERO_TIMEOUT_SECONDS = float(os.environ.get("XERO_TIMEOUT_SECONDS", "30"))
# Our own limiter keeps each organisation under Xero's limits.
XERO_RATE_LIMITS = {
    "tenant_per_minute": envint("XERO_TENANT_PER_MINUTE", "60"),
    "tenant_concurrent": envint("XERO_TENANT_CONCURRENT", "5"),
}
# Sandbox limits, as Xero counts them; tests lower them.
XERO_SANDBOX_LIMITS = {
    "tenant_per_minute": envint("XERO_SANDBOX_TENANT_PER_MINUTE", "60"),
    "tenant_concurrent": envint("XERO_SANDBOX_TENANT_CONCURRENT", "5"),
    "tenant_per_day": envint("XERO_SANDBOX_TENANT_PER_DAY", "5000"),
    "app_statements_per_minute": envint("XERO_SANDBOX_APP_STATEMENTS_PER_MINUTE", "180"),
}
if XERO_SANDBOX:
    INSTALLED_APPS.append("apps.xero_sandbox")

# Partner webhooks (apps/webhooks): a 2xx within the timeout is delivered. Consumer URLs are
# https to public hosts; the demo and tests may use loopback (http://127.0.0.1) instead.
WEBHOOK_TIMEOUT_SECONDS = float(os.environ.get("WEBHOOK_TIMEOUT_SECONDS", "15"))
WEBHOOK_ALLOW_LOOPBACK = envbool("WEBHOOK_ALLOW_LOOPBACK", "1" if DEBUG else "0")
WEBHOOK_POLL_SECONDS = float(os.environ.get("WEBHOOK_POLL_SECONDS", "1"))
WEBHOOK_RELAY_CONCURRENCY = envint("WEBHOOK_RELAY_CONCURRENCY", "8")

# Fernet keys, newest first, comma-separated: MultiFernet decrypts with any, encrypts
# with the first. The default is the demo's key, public in this repository: check --deploy
# refuses it once DEBUG is off.
DEMO_TOKEN_ENCRYPTION_KEY = "ZGVtby1vbmx5LWtleS1kZW1vLW9ubHkta2V5LTAwMDA="
TOKEN_ENCRYPTION_KEY = os.environ.get("TOKEN_ENCRYPTION_KEY", DEMO_TOKEN_ENCRYPTION_KEY)

# Stored transactions of delivered pushes older than this are deleted by
# `manage.py prune_delivered_lines` (run it daily); at least 367 days, so that every id a
# partner may still resend within Xero's one-year window is recognised.
DELIVERED_LINES_RETENTION_DAYS = envint("DELIVERED_LINES_RETENTION_DAYS", "400")
# Webhook events older than this, with their deliveries and attempts, are deleted by
# `manage.py prune_webhook_history` (run it daily) unless a delivery is still pending; at
# least 7 days, past the retry schedule.
WEBHOOK_HISTORY_RETENTION_DAYS = envint("WEBHOOK_HISTORY_RETENTION_DAYS", "90")

CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_TASK_ALWAYS_EAGER = False
CELERY_BEAT_SCHEDULE = {
    # Keeps idle refresh tokens alive; access tokens are refreshed by the call that needs one.
    "xero-token-upkeep": {
        "task": "apps.xero_auth.tasks.token_upkeep",
        "schedule": crontab(minute="*/5"),
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"oauthlib": {"level": "WARNING"}, "requests_oauthlib": {"level": "WARNING"}},
}

if not DEBUG:
    SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", "1")
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", "31536000")
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
