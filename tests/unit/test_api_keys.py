"""API keys, document hashes and manifest parsing (both formats), without I/O."""

from __future__ import annotations

import hashlib

import pytest

from domain.api_keys import (
    KEY_PREFIX,
    ManifestError,
    document_sha256,
    hash_key,
    key_prefix,
    looks_like_key,
    new_api_key,
    parse_document_id,
    parse_manifest,
)
from resolvers.partner import graphql_syntax_error, read_manifest

ME = "query Me { me { id email } }"
PROPS = "query Props($first: Int) { properties(first: $first) { totalCount } }"


def test_new_keys_are_random_prefixed_and_only_their_hash_is_kept():
    first, second = new_api_key(), new_api_key()
    assert first.startswith(KEY_PREFIX) and second.startswith(KEY_PREFIX)
    assert first != second
    assert len(first) == len(KEY_PREFIX) + 43  # 32 bytes, urlsafe base64 without padding
    assert looks_like_key(first)
    assert hash_key(first) == hashlib.sha256(first.encode()).hexdigest()
    assert hash_key(first) != hash_key(second)
    assert key_prefix(first) == first[: len(KEY_PREFIX) + 6]
    assert not looks_like_key("Bearer abc")
    assert not looks_like_key(KEY_PREFIX)
    assert not looks_like_key(KEY_PREFIX + "x" * 500)


def test_document_hash_is_sha256_of_exact_utf8_text():
    # The well-known Apollo APQ example: sha256 of "{__typename}".
    expected = "ecf4edb46db40b5132295c0291d62fb65d6759a9eedfa4d5d612dd5ec54a6b38"
    assert document_sha256("{__typename}") == expected
    assert document_sha256("{ __typename }") != expected  # whitespace matters
    assert document_sha256("query { é }") == hashlib.sha256("query { é }".encode()).hexdigest()


def test_document_ids_accept_prefixed_and_bare_hex():
    sha = document_sha256(ME)
    assert parse_document_id(f"sha256:{sha}") == sha
    assert parse_document_id(sha) == sha
    assert parse_document_id(sha.upper()) == sha
    assert parse_document_id("sha256:abc") is None
    assert parse_document_id("md5:" + sha) is None
    assert parse_document_id(42) is None


def test_plain_manifest_maps_hashes_to_documents():
    manifest = read_manifest({document_sha256(ME): ME, document_sha256(PROPS): PROPS})
    assert manifest.documents == {document_sha256(ME): ME, document_sha256(PROPS): PROPS}


def test_apollo_manifest_format():
    data = {
        "format": "apollo-persisted-query-manifest",
        "version": 1,
        "operations": [
            {"id": document_sha256(ME), "body": ME, "name": "Me", "type": "query"},
            {"id": document_sha256(PROPS), "body": PROPS, "name": "Props", "type": "query"},
        ],
    }
    assert read_manifest(data).documents == {
        document_sha256(ME): ME,
        document_sha256(PROPS): PROPS,
    }


def test_mismatched_hashes_are_listed_and_nothing_is_accepted():
    wrong = "0" * 64
    with pytest.raises(ManifestError) as raised:
        read_manifest({document_sha256(ME): ME, wrong: PROPS})
    assert len(raised.value.problems) == 1
    assert wrong in raised.value.problems[0]
    assert document_sha256(ME) not in raised.value.problems[0]


def test_apollo_operations_with_wrong_ids_are_listed():
    wrong = document_sha256(ME)  # the id of another document
    data = {
        "format": "apollo-persisted-query-manifest",
        "version": 1,
        "operations": [{"id": wrong, "body": PROPS, "name": "Props", "type": "query"}],
    }
    with pytest.raises(ManifestError, match=wrong):
        read_manifest(data)


def test_documents_must_parse_as_graphql():
    broken = "query { me { id "
    with pytest.raises(ManifestError) as raised:
        read_manifest({document_sha256(broken): broken, document_sha256(ME): ME})
    assert document_sha256(broken) in str(raised.value)
    assert "not valid GraphQL" in str(raised.value)


@pytest.mark.parametrize(
    "data",
    [
        [],
        {},
        {"format": "something-else", "version": 1, "operations": []},
        {"format": "apollo-persisted-query-manifest", "version": 2, "operations": []},
        {"format": "apollo-persisted-query-manifest", "version": 1, "operations": {}},
        {"format": "apollo-persisted-query-manifest", "version": 1, "operations": ["x"]},
        {"not-a-hash": ME},
        {document_sha256(ME): 42},
        {document_sha256(ME).upper(): ME},
    ],
)
def test_malformed_manifests_are_refused(data):
    with pytest.raises(ManifestError):
        read_manifest(data)


def test_syntax_check_is_passed_in():
    calls = []

    def check(document: str) -> str | None:
        calls.append(document)
        return None

    assert parse_manifest({document_sha256("not graphql"): "not graphql"}, check).documents
    assert calls == ["not graphql"]
    assert graphql_syntax_error("not graphql") is not None
    assert graphql_syntax_error(ME) is None
