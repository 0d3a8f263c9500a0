"""Test settings: the environment a test run gets, then the one real settings module.

Only what production would get from its environment is filled in here; everything else is
``leadflow.settings`` unchanged.

Tests run with DEBUG off, as production does, on PostgreSQL when ``DATABASE_URL`` says so (the
Makefile and CI do).
"""

import os

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz")
# The test server and browser speak plain HTTP on localhost.
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("SESSION_COOKIE_SECURE", "false")
os.environ.setdefault("CSRF_COOKIE_SECURE", "false")
os.environ.setdefault("ALLOWED_HOSTS", "localhost,127.0.0.1,testserver")
# Tests run tasks eagerly unless a test starts a real worker; the broker URL is what that worker uses.
os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "true")
# Static files come from the finders, no collectstatic needed.
os.environ.setdefault("STATICFILES_MANIFEST", "false")
# Playwright's live server runs on a thread beside the async-aware test client.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

from leadflow.settings import *  # noqa: F403

# Hashing passwords properly costs ~0.2 s a user; tests make hundreds.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
