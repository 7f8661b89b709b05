"""Move DRF's plain-text API tokens to knox: stored as digests, with an expiry.

Clients keep their key until it expires (REST_KNOX TOKEN_TTL from now); the
plain-text rows are deleted. Reversing cannot restore keys (only digests remain).
"""

from django.conf import settings
from django.db import migrations
from django.utils import timezone


def hash_existing_tokens(apps, schema_editor):
    from knox.crypto import hash_token
    from knox.settings import CONSTANTS, knox_settings

    plain_tokens = apps.get_model("authtoken", "Token")
    hashed_tokens = apps.get_model("knox", "AuthToken")
    expiry = timezone.now() + knox_settings.TOKEN_TTL
    hashed_tokens.objects.bulk_create(
        hashed_tokens(
            digest=hash_token(token.key),
            token_key=token.key[: CONSTANTS.TOKEN_KEY_LENGTH],
            user_id=token.user_id,
            created=token.created,
            expiry=expiry,
        )
        for token in plain_tokens.objects.iterator()
    )
    plain_tokens.objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_nightly_personal_data_prune"),
        ("authtoken", "0004_alter_tokenproxy_options"),
        ("knox", "0009_extend_authtoken_field"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(hash_existing_tokens, migrations.RunPython.noop),
    ]
