from django.conf import settings


def test_settings_loaded_for_tests():
    assert settings.SECRET_KEY.startswith("test-only")
