import pytest

from channels_app.template_rules import (
    sms_template_errors,
    sms_template_warnings,
    voice_template_errors,
    whatsapp_template_errors,
)

KNOWN = {"customer.name", "context.amount", "context.due_date"}


def sms(**overrides):
    fields = {
        "body": "Dear {{customer.name}}, EMI of {{context.amount}} is due on {{context.due_date}}.",
        "header": "HDFCBK",
        "category": "transactional",
        "dlt_template_id": "1107161234567890123",
        "entity_id": "1201159876543210",
        "known_variables": KNOWN,
    }
    return sms_template_errors(**(fields | overrides))


def whatsapp(**overrides):
    fields = {
        "category": "UTILITY",
        "language": "en_US",
        "header_type": "text",
        "header_text": "Order {{1}}",
        "body": "Hi {{1}}, your order {{2}} has shipped.",
        "footer": "Reply STOP to opt out",
        "buttons": [
            {"type": "url", "text": "Track", "url": "https://shop.in/track/{{1}}"},
            {"type": "quick_reply", "text": "Talk to us"},
        ],
        "sample_values": {"header": ["A-1001"], "body": ["Asha", "A-1001"]},
        "provider_name": "order_shipped_v2",
    }
    return whatsapp_template_errors(**(fields | overrides))


def voice(**overrides):
    fields = {
        "prompt": "Namaste {{customer.name}}. Press 1 to pay now, 2 to talk to an agent.",
        "menu": {"1": "pay_now", "2": "agent", "#": "repeat"},
        "retries": 2,
        "no_input_prompt": "We did not hear anything.",
        "invalid_prompt": None,
    }
    return voice_template_errors(**(fields | overrides))


# --- SMS -----------------------------------------------------------------------------------------


def test_a_valid_transactional_sms_template_has_no_errors():
    assert sms() == {}


def test_a_valid_promotional_sms_template_uses_a_numeric_header():
    assert sms(category="promotional", header="567890") == {}


def test_category_is_accepted_in_any_case_but_must_be_known():
    assert sms(category="Service") == {}
    assert "transactional, service or promotional" in sms(category="otp")["category"][0]


@pytest.mark.parametrize("header", ["HDFC", "HDFCBANK", ""])
def test_the_header_must_be_six_characters(header):
    assert "exactly 6 characters" in sms(header=header)["header"][0]


def test_a_transactional_header_is_six_letters():
    assert "6 letters" in sms(header="HDFC12")["header"][0]
    assert "6 letters" in sms(header="567890")["header"][0]


def test_a_lower_case_header_is_told_to_use_capitals():
    assert sms(header="hdfcbk")["header"] == ["Write the header in capitals: HDFCBK."]


def test_a_promotional_header_is_six_digits():
    assert "6 digits" in sms(category="promotional", header="HDFCBK")["header"][0]


@pytest.mark.parametrize(
    "entity_id", ["120115987654", "12011598765432101234", "1201-1598-7654-3210"]
)
def test_the_entity_id_is_13_to_19_digits(entity_id):
    assert list(sms(entity_id=entity_id)) == ["entity_id"]


@pytest.mark.parametrize("entity_id", ["1" * 13, "1" * 19])
def test_entity_ids_at_the_length_limits_are_accepted(entity_id):
    assert sms(entity_id=entity_id) == {}


def test_the_dlt_template_id_is_required_digits_of_at_most_30():
    assert "Enter the DLT template id" in sms(dlt_template_id="")["dlt_template_id"][0]
    assert "digits only" in sms(dlt_template_id="11071A")["dlt_template_id"][0]
    assert "1-30 digits" in sms(dlt_template_id="1" * 31)["dlt_template_id"][0]
    assert sms(dlt_template_id="7") == {}


def test_an_empty_sms_body_is_an_error():
    assert sms(body="   ") == {"body": ["Write the message text."]}


def test_an_sms_body_with_unknown_or_malformed_variables_is_an_error():
    errors = sms(body="Hi {{customer.nam}} {{ x|safe }}")["body"]
    assert any("'{{ x|safe }}'" in e for e in errors)
    assert any("Unknown variable 'customer.nam'" in e for e in errors)


def test_unknown_variables_are_not_checked_without_a_list_of_known_ones():
    assert sms(body="Hi {{anything}}", known_variables=None) == {}


def test_warnings_about_cost_and_links_are_not_errors():
    body = "नमस्ते {{customer.name}}, pay at https://pay.hdfc.com/x " * 3
    assert sms(body=body) == {}
    warnings = sms_template_warnings(body=body)
    assert any("Unicode SMS" in w for w in warnings)
    assert any("SMS parts" in w for w in warnings)
    assert any("whitelisted" in w for w in warnings)


def test_a_short_plain_body_has_no_warnings():
    assert sms_template_warnings(body="Your OTP is {{code}}") == []


# --- WhatsApp ------------------------------------------------------------------------------------


def test_a_valid_whatsapp_template_has_no_errors():
    assert whatsapp() == {}


def test_whatsapp_category_is_accepted_in_lower_case_but_must_be_known():
    assert whatsapp(category="marketing") == {}
    assert "MARKETING, UTILITY or AUTHENTICATION" in whatsapp(category="promo")["category"][0]


@pytest.mark.parametrize("language", ["english", "EN", "en-US", ""])
def test_whatsapp_language_must_be_a_code(language):
    assert list(whatsapp(language=language)) == ["language"]


def test_header_text_is_at_most_60_characters_with_one_variable():
    long_header = "x" * 61
    assert "60 characters" in whatsapp(header_text=long_header)["header_text"][0]
    errors = whatsapp(
        header_text="{{1}} {{2}}", sample_values={"header": ["a", "b"], "body": ["A", "B"]}
    )
    assert errors == {"header_text": ["A header can have at most one variable: keep only {{1}}."]}


def test_a_media_header_has_no_text_and_needs_no_header_sample():
    assert whatsapp(header_type="image", header_text="", sample_values={"body": ["A", "B"]}) == {}
    assert "clear it" in whatsapp(header_type="image")["header_text"][0]
    assert list(whatsapp(header_type="gif", header_text="")) == ["header_text"]


def test_no_header_is_fine():
    assert whatsapp(header_type=None, header_text=None, sample_values={"body": ["A", "B"]}) == {}


def test_the_body_is_required_and_at_most_1024_characters():
    assert "require" in whatsapp(body="")["body"][0]
    assert "1024 characters" in whatsapp(body="x" * 1025)["body"][0]
    assert whatsapp(body="x" * 1024) == {}


def test_body_variables_must_be_numbered_without_gaps():
    errors = whatsapp(
        body="Hi {{1}}, order {{3}}", sample_values={"header": ["A"], "body": ["a", "b", "c"]}
    )
    assert errors == {"body": ["Variables skip {{2}}: number them {{1}}, {{2}}, ... without gaps."]}


def test_the_footer_is_at_most_60_characters_and_has_no_variables():
    assert "60 characters" in whatsapp(footer="x" * 61)["footer"][0]
    assert "cannot have variables" in whatsapp(footer="Hi {{1}}")["footer"][0]


def test_every_variable_needs_a_sample_value():
    errors = whatsapp(sample_values={"header": [""], "body": ["Asha"]})["sample_values"]
    assert errors == [
        "Give a sample value for {{1}} in the header.",
        "Give a sample value for {{2}} in the body.",
    ]
    assert len(whatsapp(sample_values=None)["sample_values"]) == 3


def test_button_text_is_required_and_at_most_25_characters():
    buttons = [{"type": "quick_reply", "text": "x" * 26}, {"type": "quick_reply", "text": ""}]
    errors = whatsapp(buttons=buttons)["buttons"]
    assert "Button 1" in errors[0] and "25 characters" in errors[0]
    assert errors[1] == "Button 2: write the button text."


def test_url_buttons_must_use_https():
    buttons = [{"type": "url", "text": "Track", "url": "http://shop.in/track"}]
    assert "https://" in whatsapp(buttons=buttons)["buttons"][0]
    assert "https://" in whatsapp(buttons=[{"type": "url", "text": "Go"}])["buttons"][0]


def test_phone_buttons_need_a_number_with_country_code():
    ok = [{"type": "phone", "text": "Call us", "phone": "+91 98765 43210"}]
    assert whatsapp(buttons=ok) == {}
    bad = [{"type": "phone", "text": "Call us", "phone": "98765"}]
    assert "country code" in whatsapp(buttons=bad)["buttons"][0]


def test_button_counts_are_limited():
    url = {"type": "url", "text": "Go", "url": "https://shop.in/a"}
    phone = {"type": "phone", "text": "Call", "phone": "+919876543210"}
    reply = {"type": "quick_reply", "text": "Ok"}
    assert whatsapp(buttons=[url] * 3)["buttons"] == ["Use at most 2 URL buttons: remove one."]
    assert whatsapp(buttons=[phone] * 2)["buttons"] == [
        "Use at most one phone button: remove the others."
    ]
    assert whatsapp(buttons=[reply] * 11)["buttons"] == ["Use at most 10 buttons (there are 11)."]
    assert whatsapp(buttons=[url, url, phone] + [reply] * 7) == {}


def test_unknown_button_types_are_errors():
    assert (
        "quick_reply, url or phone"
        in whatsapp(buttons=[{"type": "copy", "text": "x"}])["buttons"][0]
    )


def test_provider_name_is_lower_case_letters_digits_and_underscores():
    assert whatsapp(provider_name="Order Shipped!")["provider_name"] == [
        "Use lower-case letters, digits and underscores only, e.g. order_shipped."
    ]
    assert "Enter the template name" in whatsapp(provider_name="")["provider_name"][0]


# --- voice ---------------------------------------------------------------------------------------


def test_a_valid_voice_template_has_no_errors():
    assert voice() == {}


def test_an_announcement_needs_no_menu():
    assert voice(menu={}, retries=0, no_input_prompt=None) == {}


def test_the_voice_prompt_is_required_and_its_placeholders_checked():
    assert voice(prompt=" ") == {"prompt": ["Write what the caller hears."]}
    assert "template tag" in voice(prompt="{% if x %}Hi")["prompt"][0]


def test_menu_keys_are_keypad_keys_and_outcomes_are_slugs():
    errors = voice(menu={"10": "pay", "A": "pay", "3": "Pay Now", "*": "go-back"})["menu"]
    assert len(errors) == 3
    assert "Key '10'" in errors[0] and "0-9, * or #" in errors[0]
    assert "Outcome 'Pay Now'" in errors[2] and "pay_now" in errors[2]


@pytest.mark.parametrize("retries", [-1, 6, 2.5, True])
def test_retries_are_a_whole_number_from_0_to_5(retries):
    assert list(voice(retries=retries)) == ["retries"]


def test_retry_prompts_are_optional_but_checked_when_given():
    assert voice(no_input_prompt="", invalid_prompt=None) == {}
    assert "nested braces" in voice(invalid_prompt="{{{x}}}")["invalid_prompt"][0]
