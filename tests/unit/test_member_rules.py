from loyalty.domain.members import ERASED_NAME, erased_profile, merge_profile, search_text

PROFILE = {
    "givenName": "Ada",
    "familyName": "Lovelace",
    "emailAddress": "ada@example.com",
    "attributes": {"shoeSize": 38, "store": "Leeds"},
}


def test_a_patch_replaces_the_fields_it_names_and_keeps_the_others():
    merged = merge_profile(PROFILE, {"givenName": "Augusta", "emailAddress": None})
    assert merged == {
        "givenName": "Augusta",
        "familyName": "Lovelace",
        "emailAddress": None,
        "attributes": {"shoeSize": 38, "store": "Leeds"},
    }


def test_attributes_merge_key_by_key_and_null_removes_a_key():
    merged = merge_profile(PROFILE, {"attributes": {"store": None, "tier": "gold", "shoeSize": 39}})
    assert merged["attributes"] == {"shoeSize": 39, "tier": "gold"}
    assert merged["givenName"] == "Ada"


def test_removing_an_absent_attribute_is_harmless():
    assert merge_profile(PROFILE, {"attributes": {"missing": None}})["attributes"] == PROFILE["attributes"]


def test_attributes_can_start_from_nothing():
    merged = merge_profile({"givenName": "Ada"}, {"attributes": {"store": "York"}})
    assert merged == {"givenName": "Ada", "attributes": {"store": "York"}}


def test_merging_does_not_change_the_inputs():
    current = {"givenName": "Ada", "attributes": {"a": 1}}
    patch = {"attributes": {"a": None, "b": 2}}
    merge_profile(current, patch)
    assert current == {"givenName": "Ada", "attributes": {"a": 1}}
    assert patch == {"attributes": {"a": None, "b": 2}}


def test_an_erased_profile_keeps_nothing_personal():
    erased = erased_profile()
    assert erased == {"givenName": ERASED_NAME, "familyName": ERASED_NAME, "emailAddress": None, "attributes": {}}
    flattened = repr(erased).lower()
    for personal in ("ada", "lovelace", "@", "leeds"):
        assert personal not in flattened


def test_search_text_is_lower_case_and_skips_missing_parts():
    text = search_text(
        {"givenName": "Ada", "familyName": "LoveLace", "emailAddress": "Ada@Example.COM"},
        "1234567",
        "IdP-Ada",
        None,
    )
    assert text == "ada@example.com ada lovelace 1234567 idp-ada"


def test_search_text_with_only_an_account_number():
    assert search_text({"emailAddress": None}, "7654321", None, "EXT-9") == "7654321 ext-9"
