import math

from hypothesis import given
from hypothesis import strategies as st

from channels_app.sms_encoding import (
    GSM7_BASIC,
    GSM7_EXTENSION,
    host_of,
    sms_measure,
    unlisted_urls,
    urls_in,
)

GSM_BASIC_TEXT = st.text(alphabet=sorted(GSM7_BASIC), max_size=500)
GSM_ANY_TEXT = st.text(alphabet=sorted(GSM7_BASIC | GSM7_EXTENSION), max_size=500)


# --- measuring -----------------------------------------------------------------------------------


def test_empty_text_is_zero_segments_with_the_whole_single_sms_left():
    measure = sms_measure("")
    assert (measure.encoding, measure.units, measure.segments) == ("GSM-7", 0, 0)
    assert (measure.per_segment, measure.remaining) == (160, 160)


def test_plain_english_up_to_160_characters_is_one_sms():
    measure = sms_measure("a" * 160)
    assert (measure.segments, measure.per_segment, measure.remaining) == (1, 160, 0)


def test_161_gsm_characters_split_into_two_parts_of_153():
    measure = sms_measure("a" * 161)
    assert (measure.segments, measure.per_segment, measure.remaining) == (2, 153, 145)


def test_306_gsm_characters_fill_exactly_two_parts():
    assert sms_measure("a" * 306).segments == 2
    assert sms_measure("a" * 307).segments == 3


def test_every_extension_character_counts_as_two_septets():
    for char in "€[]{}\\^~|\f":
        measure = sms_measure(char)
        assert (measure.encoding, measure.units, measure.characters) == ("GSM-7", 2, 1), char


def test_an_extension_character_pushes_a_gsm_message_over_160():
    assert sms_measure("a" * 159 + "€").segments == 2
    assert sms_measure("a" * 158 + "€").segments == 1


def test_an_extension_character_is_not_split_across_parts():
    # 152 + 2 + 152 = 306 septets: naive division says 2 parts, but "€" cannot straddle the
    # boundary after septet 152, so it opens part 2 and the last "a" spills into part 3.
    measure = sms_measure("a" * 152 + "€" + "a" * 152)
    assert measure.units == 306
    assert measure.segments == 3
    assert measure.remaining == 152


def test_remaining_reflects_an_extension_character_moved_to_the_next_part():
    measure = sms_measure("a" * 152 + "€" + "a" * 10)
    assert (measure.segments, measure.remaining) == (2, 153 - 12)


def test_devanagari_makes_the_message_ucs2_with_a_70_character_limit():
    measure = sms_measure("नमस्ते")
    assert measure.encoding == "UCS-2"
    assert (measure.units, measure.per_segment, measure.remaining) == (6, 70, 64)
    assert measure.non_gsm_chars[:2] == ["न", "म"]


def test_a_140_character_hindi_emi_reminder_costs_three_sms():
    text = ("आपकी EMI देय है। " * 20)[:140]
    measure = sms_measure(text)
    assert (measure.encoding, measure.characters, measure.segments) == ("UCS-2", 140, 3)


def test_an_emoji_takes_two_ucs2_units():
    measure = sms_measure("Hi 😀")
    assert (measure.encoding, measure.units, measure.characters) == ("UCS-2", 5, 4)


def test_a_surrogate_pair_is_not_split_across_ucs2_parts():
    measure = sms_measure("a" * 66 + "😀" + "a" * 66)
    assert measure.units == 134
    assert measure.segments == 3
    assert measure.remaining == 67 - 1


def test_curly_quotes_force_ucs2_and_are_named_in_the_hint():
    measure = sms_measure("Don’t miss “today”")
    assert measure.encoding == "UCS-2"
    assert measure.non_gsm_chars == ["’", "“", "”"]


def test_the_non_gsm_hint_lists_distinct_characters_and_stops_after_five():
    measure = sms_measure("ééé" + "नमस्ते दुनिया")
    assert len(measure.non_gsm_chars) == 5
    assert len(set(measure.non_gsm_chars)) == 5
    assert "é" not in measure.non_gsm_chars


def test_accented_letters_in_the_gsm_alphabet_stay_gsm7():
    assert sms_measure("Café Zürich £5 ¥ @ home").encoding == "GSM-7"


@given(GSM_BASIC_TEXT)
def test_basic_gsm_text_segments_match_the_textbook_formula(text):
    measure = sms_measure(text)
    expected = 0 if not text else 1 if len(text) <= 160 else math.ceil(len(text) / 153)
    assert measure.encoding == "GSM-7"
    assert measure.units == len(text)
    assert measure.segments == expected


@given(GSM_ANY_TEXT)
def test_gsm_measure_is_consistent(text):
    measure = sms_measure(text)
    assert measure.units == len(text) + sum(char in GSM7_EXTENSION for char in text)
    assert 0 <= measure.remaining <= measure.per_segment
    assert measure.segments * measure.per_segment >= measure.units
    assert measure.segments >= math.ceil(measure.units / measure.per_segment)


@given(st.text(max_size=300))
def test_any_text_measures_without_error_and_within_the_limits(text):
    measure = sms_measure(text)
    assert measure.characters == len(text)
    assert measure.per_segment in (160, 153, 70, 67)
    assert 0 <= measure.remaining <= measure.per_segment
    assert (measure.segments == 0) == (text == "")
    if measure.encoding == "UCS-2":
        assert measure.units == len(text.encode("utf-16-le")) // 2
        assert measure.non_gsm_chars


# --- links ---------------------------------------------------------------------------------------


def test_urls_in_finds_links_with_and_without_a_scheme():
    text = (
        "Pay at https://pay.hdfc.com/emi?id=7, or www.sbi.co.in/offer. "
        "Track bit.ly/abc12 and visit hdfcbank.com!"
    )
    assert urls_in(text) == [
        "https://pay.hdfc.com/emi?id=7",
        "www.sbi.co.in/offer",
        "bit.ly/abc12",
        "hdfcbank.com",
    ]


def test_urls_in_ignores_amounts_names_files_and_email_addresses():
    assert urls_in("Pay Rs.500/- to Mr.Sharma; see file.txt or write to help@hdfc.com") == []


def test_urls_in_keeps_balanced_parentheses_but_drops_a_closing_one():
    assert urls_in("(see https://x.in/a_(b))") == ["https://x.in/a_(b)"]
    assert urls_in("(see https://x.in/a)") == ["https://x.in/a"]


def test_host_of_lowercases_and_drops_port_credentials_and_final_dot():
    assert host_of("https://user:pw@Pay.HDFC.com.:443/x") == "pay.hdfc.com"
    assert host_of("bit.ly/x") == "bit.ly"
    assert host_of("www.x.in/path") == "www.x.in"
    assert host_of("") == ""


def test_a_link_on_a_whitelisted_domain_or_its_subdomain_is_listed():
    text = "Pay https://hdfc.com/x or https://pay.hdfc.com/y or WWW.HDFC.COM"
    assert unlisted_urls(text, ["hdfc.com"]) == []


def test_a_lookalike_domain_is_not_a_subdomain():
    text = "Pay at https://evilhdfc.com/x and https://hdfc.com.evil.in/y"
    assert unlisted_urls(text, ["hdfc.com"]) == [
        "https://evilhdfc.com/x",
        "https://hdfc.com.evil.in/y",
    ]


def test_shorteners_must_be_whitelisted_like_any_domain():
    assert unlisted_urls("Track bit.ly/x now", ["hdfc.com"]) == ["bit.ly/x"]
    assert unlisted_urls("Track bit.ly/x now", ["bit.ly"]) == []


def test_whitelist_entries_may_be_wildcards_or_pasted_urls():
    text = "www.sbi.co.in/a and https://m.axis.in/b"
    assert unlisted_urls(text, ["*.sbi.co.in", "https://axis.in/home"]) == []


def test_each_unlisted_link_is_reported_once():
    assert unlisted_urls("x.ly/a then x.ly/a", []) == ["x.ly/a"]
