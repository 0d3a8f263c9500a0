"""Fixtures for the API tests: a client signed in as a given user."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth.models import AbstractBaseUser
from rest_framework.test import APIClient


@pytest.fixture
def client_as(api_client: APIClient) -> Callable[[AbstractBaseUser], APIClient]:
    """``client_as(user)``: the API client, authenticated as ``user``."""

    def sign_in(user: AbstractBaseUser) -> APIClient:
        api_client.force_authenticate(user=user)
        return api_client

    return sign_in
