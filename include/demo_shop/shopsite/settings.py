"""Settings of the demo shop: the live Django app whose SQLite database is migrated to MySQL.

The database is the only thing that varies; it comes from SHOP_DATABASE_URL (see dburl.py).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
if str(BASE_DIR) not in sys.path:  # shopconf lives next to manage.py
    sys.path.insert(0, str(BASE_DIR))

import shopconf  # noqa: E402

SECRET_KEY = shopconf.SECRET_KEY
DEBUG = False
ALLOWED_HOSTS = ["*"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "shop",
]

MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]

ROOT_URLCONF = "shopsite.urls"

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
            ],
        },
    },
]

_URL = os.environ.get("SHOP_DATABASE_URL", f"sqlite:///{BASE_DIR / 'shop.sqlite3'}")
# Through a cutover to MySQL (and a rollback) the database refuses writes for a moment:
# - on SQLite, transactions are IMMEDIATE with a busy timeout (shopconf.database_settings), so
#   they wait for the write lock instead of failing with "database is locked";
# - a write refused by the freeze ("writes are frozen until <time> UTC") is retried:
#   wrap each write transaction in shop.retry.atomic_with_retry(work) instead of
#   transaction.atomic(); it raises DatabaseMoved once the database has moved, when the
#   application must load the settings the switch wrote (docs/cutover.md).
_MAX_AGE = os.environ.get("SHOP_CONN_MAX_AGE", str(shopconf.CONN_MAX_AGE))
DATABASES = {"default": shopconf.database_settings(_URL, None if _MAX_AGE == "none" else int(_MAX_AGE))}
# Only orm_copy.py sets this: a second database to read from.
if os.environ.get("SHOP_SOURCE_DATABASE_URL"):
    DATABASES["source"] = shopconf.database_settings(os.environ["SHOP_SOURCE_DATABASE_URL"])

# BigAutoField like every project started with Django >= 3.2. contrib.auth keeps its own
# AutoField, so auth_user.id is a 32-bit integer while shop ids are 64-bit: on SQLite both
# are declared "integer", on MySQL they become int vs bigint.
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# A failed request's cause (e.g. MySQL 1040 "Too many connections") goes to the server's error
# log; with DEBUG off Django would otherwise only mail it to ADMINS.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"django.request": {"handlers": ["console"], "level": "ERROR", "propagate": False}},
}

USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en-us"
USE_I18N = True
STATIC_URL = "static/"
