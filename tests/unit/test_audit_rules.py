"""What the audit trail keeps of a request body: secrets redacted at any depth, a size cap marked as truncation,
and the searchable text of the target ids."""

from __future__ import annotations

import json

import pytest

from loyalty.domain.audit import (
    MAX_BODY_BYTES,
    REDACTED,
    is_secret_key,
    kept_body,
    redact,
    target_ids_of,
    target_text,
)


@pytest.mark.parametrize(
    "key",
    [
        "secret",
        "clientSecret",
        "client_secret",
        "sharedSecret",
        "password",
        "newPassword",
        "apiKey",
        "api_key",
        "X-Api-Key",
        "accessToken",
        "refresh_token",
        "Authorization",
        "credentials",
        "privateKey",
    ],
)
def test_keys_that_name_a_secret(key: str):
    assert is_secret_key(key)


@pytest.mark.parametrize("key", ["name", "points", "actorId", "comment", "scopes", "code", "externalIdentifier"])
def test_ordinary_keys(key: str):
    assert not is_secret_key(key)


def test_redaction_reaches_every_depth_and_keeps_the_rest():
    body = {
        "name": "Back office",
        "userAuth": {"algorithm": "HS256", "sharedSecret": "s3cr3t", "jwks": [{"kid": "a", "privateKey": "k"}]},
        "password": {"nested": "whole value replaced"},
        "items": [{"token": "t"}, "plain", 3, None, True],
    }
    assert redact(body) == {
        "name": "Back office",
        "userAuth": {"algorithm": "HS256", "sharedSecret": REDACTED, "jwks": [{"kid": "a", "privateKey": REDACTED}]},
        "password": REDACTED,
        "items": [{"token": REDACTED}, "plain", 3, None, True],
    }


def test_nul_characters_are_replaced_in_keys_and_values():
    assert redact({"a\x00b": ["c\x00"]}) == {"a\ufffdb": ["c\ufffd"]}


def test_a_small_body_is_kept_whole_and_redacted():
    kept = kept_body(b'{"name": "Till 4", "clientSecret": "abc", "points": 10}')
    assert kept.document == {"name": "Till 4", "clientSecret": REDACTED, "points": 10}
    assert not kept.truncated


def test_an_empty_body_is_none():
    assert (kept_body(b"").document, kept_body(b"").truncated) == (None, False)
    assert (kept_body(b"  \n").document, kept_body(b"  \n").truncated) == (None, False)


@pytest.mark.parametrize("raw", [b"not json", b'{"a": NaN}', b"\xff\xfe\x00", b"[" * 100_000 + b"]" * 100_000])
def test_a_body_that_cannot_be_read_as_json_is_not_kept_but_marked(raw: bytes):
    kept = kept_body(raw)
    assert (kept.document, kept.truncated) == (None, True)


def test_a_large_body_keeps_the_start_of_its_redacted_text():
    body = {"apiKey": "x" * 50, "notes": "é" * 20_000}
    kept = kept_body(json.dumps(body).encode())
    assert kept.truncated
    assert isinstance(kept.document, str)
    assert kept.document.startswith('{"apiKey":"[REDACTED]","notes":"éé')
    assert "x" * 10 not in kept.document
    # Cut on a character boundary, within the cap.
    assert len(kept.document.encode()) <= MAX_BODY_BYTES
    assert len(kept.document.encode()) >= MAX_BODY_BYTES - 1


def test_a_body_at_the_cap_is_kept_whole():
    padding = MAX_BODY_BYTES - len(b'{"a":""}')
    raw = json.dumps({"a": "y" * padding}, separators=(",", ":")).encode()
    assert len(raw) == MAX_BODY_BYTES
    kept = kept_body(raw)
    assert (kept.document, kept.truncated) == ({"a": "y" * padding}, False)
    assert kept_body(raw, limit=MAX_BODY_BYTES - 1).truncated


def test_target_text_finds_whole_values_whatever_their_case():
    text = target_text({"rewardId": "AbC-1", "id": "42"})
    assert text == "\nabc-1\n42\n"
    assert target_text({"": "abc-1"}) in text
    assert target_text({"": "4"}) not in text
    assert target_text({}) == "\n"


def test_targets_are_the_path_parameters_then_the_ids_a_command_names_in_its_body():
    body = {"actorId": "m-1", "points": 5, "benefitId": "", "rewardId": 7, "nested": {"userId": "m-2"}}
    assert target_ids_of({"id": "x"}, body) == {"id": "x", "actorId": "m-1"}
    assert target_ids_of({"userId": "path"}, {"userId": "body"}) == {"userId": "path"}  # the path wins
    assert target_ids_of({}, ["actorId"]) == {}
    assert target_ids_of({}, None) == {}
