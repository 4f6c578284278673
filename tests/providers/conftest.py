"""Fixtures shared by several modules of tests/providers (one definition here, so a session-scoped one is built
once): h3's provider-facing world, used by test_provider_api.py and test_provider_isolation.py."""

from tests.providers.portal_world import _portal_database, portal_world  # noqa: F401 - the fixtures
