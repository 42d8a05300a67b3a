"""One person, one identity: E.164, the Brazilian ninth digit, JIDs and @lid."""

from __future__ import annotations

import pytest

from gateway.providers.phones import identity, is_group, mask, meta_user, normalize_phone, same_person

MARIANA = "+5541991234567"


class TestNormalizePhone:
    @pytest.mark.parametrize(
        "raw",
        [
            "+5541991234567",
            "5541991234567",
            "554191234567",  # legacy 12-digit form, no ninth digit
            "+55 (41) 99123-4567",
            "+55 41 9123-4567",
            "(41) 99123-4567",
            "41991234567",
            "4191234567",
            "041991234567",  # trunk prefix 0
            "0 15 41 99123-4567",  # trunk prefix + carrier code
            "005541991234567",  # international dialling prefix
            "5541991234567@c.us",
            "5541991234567@s.whatsapp.net",
            "554191234567@s.whatsapp.net",
            "5541991234567:12@s.whatsapp.net",
            " 55.41.99123.4567 ",
        ],
    )
    def test_every_spelling_of_a_brazilian_mobile_is_one_number(self, raw):
        assert normalize_phone(raw) == MARIANA

    @pytest.mark.parametrize("subscriber_start", ["6", "7", "8", "9"])
    def test_ninth_digit_added_for_mobile_ranges(self, subscriber_start):
        assert normalize_phone(f"5521{subscriber_start}8765432") == f"+55219{subscriber_start}8765432"

    @pytest.mark.parametrize("subscriber_start", ["2", "3", "4", "5"])
    def test_landlines_keep_eight_digits(self, subscriber_start):
        assert normalize_phone(f"5541{subscriber_start}0301200") == f"+5541{subscriber_start}0301200"

    def test_landline_without_country_code(self):
        assert normalize_phone("(41) 3030-1200") == "+554130301200"

    def test_thirteen_digit_form_is_kept(self):
        assert normalize_phone("5511987654321") == "+5511987654321"

    def test_international_mode_trusts_the_country_code(self):
        assert normalize_phone("15550783881", international=True) == "+15550783881"

    def test_national_mode_reads_eleven_digits_as_brazilian(self):
        assert normalize_phone("11987654321") == "+5511987654321"

    def test_explicit_plus_is_never_reinterpreted(self):
        assert normalize_phone("+1 555 078 3881") == "+15550783881"

    def test_foreign_numbers_untouched(self):
        assert normalize_phone("+351 912 345 678") == "+351912345678"
        assert normalize_phone("+5491123456789") == "+5491123456789"

    @pytest.mark.parametrize(
        "raw",
        [
            "",
            "   ",
            "abc",
            "81896604192873@lid",
            "120363019502650977@g.us",
            "12345",
            "+1234567890123456",  # 16 digits: longer than E.164 allows
            "+0123456789",
            "55419912３４567",  # full-width digits
            "0123",
        ],
    )
    def test_not_a_phone(self, raw):
        assert normalize_phone(raw) is None


class TestIdentity:
    def test_phone(self):
        assert identity("554191234567") == (MARIANA, True)

    def test_lid_is_stable_and_not_a_phone(self):
        assert identity("81896604192873@lid") == ("lid:81896604192873@lid", False)
        assert identity("81896604192873@LID") == ("lid:81896604192873@lid", False)

    def test_canonical_ids_are_fixed_points(self):
        assert identity("lid:81896604192873@lid") == ("lid:81896604192873@lid", False)
        assert identity(meta_user("BR.1502576394655843")) == ("meta-user:BR.1502576394655843", False)

    def test_groups_are_nobody(self):
        assert identity("120363019502650977@g.us") is None
        assert is_group("120363019502650977-group")
        assert is_group("status@broadcast")
        assert not is_group("5541991234567")

    def test_garbage_lid(self):
        assert identity("abc@lid") is None
        assert identity("lid:") is None


class TestSamePerson:
    def test_twelve_and_thirteen_digit_forms(self):
        assert same_person("554191234567", "5541991234567")

    def test_jid_and_formatted(self):
        assert same_person("5541991234567@c.us", "+55 (41) 9 9123-4567")

    def test_different_people(self):
        assert not same_person("5541991234567", "5541991234568")

    def test_landline_is_not_its_mobile_lookalike(self):
        assert not same_person("554130301200", "5541930301200")

    def test_lid_is_not_the_phone(self):
        assert not same_person("81896604192873@lid", "5541991234567")

    def test_lid_matches_itself(self):
        assert same_person("81896604192873@lid", "lid:81896604192873@lid")

    def test_two_garbage_strings_are_not_the_same_person(self):
        assert not same_person("", "")
        assert not same_person("abc", "abc")


def test_mask_hides_the_middle():
    assert mask(MARIANA) == "+5541***67"
    assert "9912" not in mask(MARIANA)
