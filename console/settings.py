"""The one settings module for Sangam, read from the environment with safe embedded defaults.

Embedded default (nothing to install beyond Python): SQLite in WAL mode with immediate
transactions, django-q2's database broker, a cross-process channel layer relayed through the
database, a local-memory cache. `DATABASE_URL` switches to PostgreSQL (psycopg 3); `REDIS_URL`
switches the channel layer, the django-q2 broker and the cache to Redis.
"""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "")
    try:
        return int(raw) if raw.strip() else default
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be a whole number, got {raw!r}") from exc


def env_ints(name: str, default: str, count: int) -> tuple[int, ...]:
    raw = os.environ.get(name, "").strip() or default
    try:
        values = tuple(int(part) for part in raw.split(","))
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be {count} whole numbers, got {raw!r}") from exc
    if len(values) != count or min(values) < 0:
        raise ImproperlyConfigured(f"{name} must be {count} whole numbers >= 0, got {raw!r}")
    return values


DEBUG = env_bool("DEBUG", False)
# Python's cyclic garbage collector, per process (see console.apps): the engine's batches
# allocate hundreds of thousands of short-lived objects, and the default first threshold (700)
# ran a collection every few hundred rows. At 50000,20,100 collections took 0.7 % of an engine
# worker's time at 10,000 customers (2-3 % at 20000,20,50, timed by gc.callbacks), for no
# change in peak RSS. 0 as the first value turns collection off.
GC_THRESHOLDS = env_ints("SANGAM_GC_THRESHOLDS", "50000,20,100", 3)
VAR_DIR = Path(os.environ.get("SANGAM_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def _secret_key() -> str:
    """SECRET_KEY from the environment, else one generated once and kept in var/ (embedded mode)."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    path = VAR_DIR / "secret_key"
    if not path.exists():
        import secrets

        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = [
    h.strip() for h in os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost").split(",")
]
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]

INSTALLED_APPS = [
    "daphne",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "template_partials",
    "channels",
    "django_q",
    "ninja",
    "console",
    "channels_app",
    "journeys",
    "journeys.builder",
    "analytics",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "console.middleware.api_body_limit_middleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "console.middleware.workspace_middleware",
]

ROOT_URLCONF = "console.urls"
ASGI_APPLICATION = "console.asgi.application"
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
                "console.context_processors.shell",
            ],
            "builtins": ["template_partials.templatetags.partials"],
        },
    },
]

# --- Database -------------------------------------------------------------------------------

DATABASE_URL = os.environ.get("DATABASE_URL", "").strip()
# Workers keep their connections: django-q2's database broker reconnects on every
# enqueue/dequeue with CONN_MAX_AGE=0, which caps it at tens of tasks per second. The web process
# (daphne, marked by console/asgi.py) runs each request's ORM work on a fresh thread, where a
# persistent connection would never be reused and idle ones would pile up to PostgreSQL's
# max_connections: it closes its connection after each request and, on PostgreSQL, borrows it
# from a psycopg pool (WEB_DB_POOL_MAX connections at most).
WEB_PROCESS = os.environ.get("SANGAM_PROCESS") == "web"
CONN_MAX_AGE = 0 if WEB_PROCESS else env_int("CONN_MAX_AGE", 600)
WEB_DB_POOL_MAX = env_int("WEB_DB_POOL_MAX", 20)

if DATABASE_URL:
    DATABASES = {
        "default": dj_database_url.parse(
            DATABASE_URL, conn_max_age=CONN_MAX_AGE, conn_health_checks=not WEB_PROCESS
        )
    }
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # Django's backend, reading timestamps with psycopg's compiled loader (see the module).
        DATABASES["default"]["ENGINE"] = "console.dbpostgresql"
    if WEB_PROCESS and DATABASES["default"]["ENGINE"].endswith("postgresql"):
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            "min_size": 2,
            "max_size": WEB_DB_POOL_MAX,
            "timeout": 10,
        }
else:
    SQLITE_PATH = Path(os.environ.get("SQLITE_PATH", VAR_DIR / "sangam.sqlite3"))
    DATABASES = {
        "default": {
            "ENGINE": "console.dbsqlite",
            "NAME": SQLITE_PATH,
            "CONN_MAX_AGE": CONN_MAX_AGE,
            "CONN_HEALTH_CHECKS": True,
            "OPTIONS": {
                # IMMEDIATE takes the write lock at BEGIN, so two writers queue on busy_timeout
                # instead of failing with "database is locked" when a read upgrades to a write.
                "transaction_mode": "IMMEDIATE",
                "timeout": 30,
                "init_command": (
                    "PRAGMA journal_mode=WAL;"
                    "PRAGMA synchronous=NORMAL;"
                    "PRAGMA busy_timeout=30000;"
                    "PRAGMA foreign_keys=ON;"
                ),
            },
            # Tests run against a file so that daphne and worker processes started by the
            # suite see the same database as the test itself.
            # One file per test process, so parallel runs on one machine never share it.
            "TEST": {"NAME": str(VAR_DIR / f"test-{os.getpid()}.sqlite3")},
        }
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: cache, channel layer, task broker -----------------------------------------------

REDIS_URL = os.environ.get("REDIS_URL", "").strip()
CACHE_KEY_PREFIX = os.environ.get("CACHE_KEY_PREFIX", "sangam")

if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": CACHE_KEY_PREFIX,
        }
    }
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "prefix": f"{CACHE_KEY_PREFIX}:asgi"},
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "sangam",
        }
    }
    # In-process layer inside daphne; notices from other processes (workers, management
    # commands) reach it through the database relay in console/live.py.
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# Whether live notices travel through the channel layer directly (true across processes only
# with Redis) or through the LiveNotice table and the relay running inside daphne.
LIVE_DIRECT = bool(REDIS_URL)
LIVE_RELAY_INTERVAL = float(os.environ.get("LIVE_RELAY_INTERVAL", "0.1"))
# The coalescer thread's own database connection (relay mode) stays open between flushes (a new
# connection ten times a second cost a PostgreSQL worker more than the notices themselves);
# the test suite closes it after each flush so that no connection outlives a test database.
LIVE_RELAY_KEEP_CONNECTION = env_bool("LIVE_RELAY_KEEP_CONNECTION", True)

# --- django-q2 ------------------------------------------------------------------------------

Q_TIMEOUT = env_int("Q_TIMEOUT", 120)
# How long a scheduled sweep keeps working (and waiting for work falling due) before it ends:
# nearly the whole minute between two runs of the schedule, so a timer or a simulated delivery
# falling due between them waits a few seconds, not until the next minute (measured under
# make run: 36-40 s with 20 s sweeps, at most 4 s with 55).
SWEEP_SECONDS = float(os.environ.get("SWEEP_SECONDS", "55"))
# The analytics rollup sweep folds almost the whole minute, so live dashboards move within ~1 s
# (it idles in 1 s sleeps when there is nothing new).
ROLLUP_SWEEP_SECONDS = float(os.environ.get("ROLLUP_SWEEP_SECONDS", "55"))
# While the job works through a backlog, run-level figures (completion, escalation) may trail
# this long: each touched run is refreshed once then, not once per chunk that touches it.
ROLLUP_DEFER_SECONDS = float(os.environ.get("ROLLUP_DEFER_SECONDS", "10"))
Q_RETRY = env_int("Q_RETRY", 300)
Q_CLUSTER = {
    "name": os.environ.get("Q_CLUSTER_NAME", "sangam"),
    # The three per-minute sweeps (due runs, outbox, analytics) keep a worker each for almost
    # the whole minute; six workers leave three for the event, enrolment and webhook tasks.
    "workers": env_int("Q_WORKERS", 6),
    "recycle": 500,
    "timeout": Q_TIMEOUT,
    "retry": Q_RETRY,
    "max_attempts": env_int("Q_MAX_ATTEMPTS", 3),
    "catch_up": False,
    "save_limit": 1000,
    "queue_limit": 100,
    "ack_failures": True,
    "label": "Tasks",
    "poll": 0.2,
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"


def q_cluster_check(cluster: dict) -> None:
    """Refuse a django-q2 configuration that would run a task twice while it is still running."""
    timeout, retry = cluster.get("timeout"), cluster.get("retry")
    if timeout is None or retry is None or retry <= timeout:
        raise ImproperlyConfigured(
            f"django-q2 retry ({retry}s) must be greater than timeout ({timeout}s): "
            "otherwise a slow task is handed to a second worker while the first still runs. "
            "Set Q_RETRY above Q_TIMEOUT."
        )
    if not cluster.get("max_attempts"):
        raise ImproperlyConfigured(
            "django-q2 max_attempts must be a finite number (Q_MAX_ATTEMPTS)."
        )


q_cluster_check(Q_CLUSTER)

# --- Auth and security ----------------------------------------------------------------------

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEBUG) and env_bool("HTTPS", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"

# --- Providers ------------------------------------------------------------------------------

# The address providers call back: webhook URLs handed to Twilio, Meta and Exotel (signatures
# are computed over the URL as called, so it must match exactly).
PUBLIC_URL = os.environ.get("SANGAM_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")
# Fernet key that encrypts provider credentials at rest; empty: derived from SECRET_KEY.
ENCRYPTION_KEY = os.environ.get("SANGAM_ENCRYPTION_KEY", "").strip()
# How long a claim or an in-flight send is trusted before it is reconciled with the provider.
DISPATCH_LEASE_S = float(os.environ.get("SANGAM_DISPATCH_LEASE_S", "60"))

# --- API ------------------------------------------------------------------------------------

API_MAX_BODY_BYTES = env_int("API_MAX_BODY_BYTES", 1024 * 1024)
API_RATE_LIMIT_PER_MINUTE = env_int("API_RATE_LIMIT_PER_MINUTE", 6000)
API_BATCH_MAX = 1000
DATA_UPLOAD_MAX_MEMORY_SIZE = max(API_MAX_BODY_BYTES * 2, 2_621_440)

# --- I18N, static ---------------------------------------------------------------------------

LANGUAGE_CODE = "en"
TIME_ZONE = "Asia/Kolkata"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)  # whitenoise serves from finders; the folder only has to exist
NODE_MODULES_DIR = BASE_DIR / "node_modules"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Front-end packages installed by `make` from the npm registry, served as /static/vendor/<name>/.
VENDOR_DIRS = {"x6": NODE_MODULES_DIR / "@antv" / "x6" / "dist"}
STATICFILES_DIRS += [
    (f"vendor/{name}", path) for name, path in VENDOR_DIRS.items() if path.exists()
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
    "loggers": {
        "sangam": {"level": os.environ.get("SANGAM_LOG_LEVEL", "INFO")},
        "django_q": {"level": "WARNING"},
    },
}

# Demo workspace credentials (printed by `make run`; the demo is for local evaluation only).
DEMO_PASSWORD = os.environ.get("DEMO_PASSWORD", "sangam-demo-2026")
DEMO_API_KEY = os.environ.get("DEMO_API_KEY", "sgm_demo_muzz_retail_finance_local_only_key")
