import base64
import uuid

import pytest

from loyalty.domain.credentials import (
    digest,
    matches,
    new_api_key,
    new_secret,
    new_signing_key,
    tenant_of_api_key,
)


def _decoded_bits(secret: str) -> int:
    padded = secret + "=" * (-len(secret) % 4)
    return len(base64.urlsafe_b64decode(padded)) * 8


def test_an_api_key_embeds_its_tenant_id():
    tenant_id = uuid.uuid4()
    key = new_api_key(tenant_id)
    assert key.startswith(tenant_id.hex)
    assert tenant_of_api_key(key) == tenant_id


def test_the_secret_part_of_an_api_key_is_random_and_long():
    tenant_id = uuid.uuid4()
    first, second = new_api_key(tenant_id), new_api_key(tenant_id)
    assert first != second
    assert _decoded_bits(first[32:]) >= 192


@pytest.mark.parametrize("garbage", ["", "short", "not-a-uuid-at-all-not-a-uuid-at-all-xx", "z" * 60, "🙂" * 40])
def test_a_key_that_does_not_start_with_a_tenant_id_names_no_tenant(garbage: str):
    assert tenant_of_api_key(garbage) is None


def test_digest_is_sha256_hex_and_deterministic():
    value = digest("hello")
    assert value == "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
    assert digest("hello") == value
    assert digest("hello!") != value


def test_matches_compares_a_secret_with_its_stored_digest():
    secret = new_secret()
    stored = digest(secret)
    assert matches(secret, stored)
    assert not matches(secret + "x", stored)
    assert not matches(new_secret(), stored)
    assert not matches(secret, digest(secret.upper() + "x"))


def test_secrets_carry_at_least_192_bits_and_never_repeat():
    secrets = [new_secret() for _ in range(200)]
    assert len(set(secrets)) == len(secrets)
    for secret in secrets:
        assert _decoded_bits(secret) >= 192, secret


def test_signing_keys_are_256_bit_hex_and_distinct():
    keys = {new_signing_key() for _ in range(50)}
    assert len(keys) == 50
    for key in keys:
        assert len(key) == 64
        int(key, 16)
