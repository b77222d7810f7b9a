from datetime import date, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from channels_app.placeholders import (
    MissingVariable,
    PlaceholderSyntaxError,
    Variable,
    indian_grouping,
    placeholder_errors,
    placeholder_names,
    placeholder_render,
    variable_format,
)

KNOWN = {"customer.name", "event.order_id", "context.amount"}


def only_error(text, style="named", known=None):
    errors = placeholder_errors(text, style=style, known=known)
    assert len(errors) == 1, errors
    return errors[0]


# --- names ---------------------------------------------------------------------------------------


def test_named_placeholders_are_found_with_or_without_spaces_once_each_in_order():
    text = "Hi {{customer.name}}, order {{ event.order_id }} for {{customer.name}}"
    assert placeholder_names(text, style="named") == ["customer.name", "event.order_id"]


def test_numbered_placeholders_are_found_in_order_of_appearance():
    assert placeholder_names("{{2}} then {{1}} and {{2}}", style="numbered") == ["2", "1"]


def test_dlt_slots_are_named_by_position():
    text = "Dear {#var#}, your OTP is {#var#}. Visit {#url#}"
    assert placeholder_names(text, style="dlt") == ["1", "2", "3"]


def test_malformed_placeholders_are_left_out_of_the_names():
    assert placeholder_names("{{ok}} {{ x|safe }} {{Bad}}", style="named") == ["ok"]


def test_an_unknown_style_is_refused():
    with pytest.raises(ValueError, match="style"):
        placeholder_names("x", style="jinja")


# --- errors --------------------------------------------------------------------------------------


def test_well_formed_named_text_with_known_variables_has_no_errors():
    text = "Hi {{ customer.name }}, ₹{{context.amount}} is due for {{event.order_id}}."
    assert placeholder_errors(text, style="named", known=KNOWN) == []


def test_a_syntactically_fine_name_is_an_error_only_when_it_is_not_known():
    assert placeholder_errors("{{ request }}", style="named", known=None) == []
    error = only_error("{{ request }}", known=KNOWN)
    assert "Unknown variable 'request'" in error
    assert "customer.name" in error


def test_every_unknown_variable_is_named_in_one_message():
    error = only_error("{{a}} {{b}} {{customer.name}}", known=KNOWN)
    assert "Unknown variables 'a', 'b'" in error


def test_template_tags_are_refused_naming_the_tag():
    error = only_error("{% load static %}Hello")
    assert "'{% load static %}'" in error and "remove it" in error


def test_an_unclosed_template_tag_is_still_refused():
    assert "template tag" in only_error("Hello {% if x")


def test_filters_are_refused_and_the_fix_is_the_plain_name():
    error = only_error("{{ x|safe }}")
    assert "'{{ x|safe }}'" in error and "write {{x}}" in error


def test_private_attributes_are_refused():
    assert "'{{ x.__class__ }}'" in only_error("{{ x.__class__ }}")
    assert "private" in only_error("{{__import__}}")


def test_calls_are_refused_and_the_fix_is_the_plain_name():
    error = only_error("{{x()}}")
    assert "'{{x()}}'" in error and "write {{x}}" in error


def test_an_unclosed_opening_brace_pair_is_an_error():
    error = only_error("Hello {{customer.name")
    assert "never closes" in error and "'}}'" in error


def test_a_stray_closing_brace_pair_is_an_error():
    assert "Stray '}}'" in only_error("Hello customer.name}}")


def test_nested_braces_are_an_error():
    assert "nested braces" in only_error("{{{customer.name}}}")
    errors = placeholder_errors("{{ a {{b}} }}", style="named", known=None)
    assert any("nested braces" in e and "'{{ a {{b}}'" in e for e in errors)


def test_empty_and_upper_case_names_are_errors_that_show_an_example():
    assert "empty" in only_error("{{ }}")
    error = only_error("{{Customer.Name}}")
    assert "lower-case" in error and "{{customer.name}}" in error


def test_numbered_variables_in_named_text_are_errors():
    assert "numbered variable" in only_error("Hi {{1}}")


def test_dlt_slots_in_named_text_say_to_use_braces():
    assert "write {{customer.name}}" in only_error("Hi {#var#}")


def test_numbered_text_must_not_skip_a_number():
    error = only_error("{{1}} and {{3}}", style="numbered")
    assert "skip {{2}}" in error


def test_numbered_text_must_start_at_one():
    assert "skip {{1}}" in only_error("{{2}}", style="numbered")


def test_numbered_variables_are_written_without_spaces_or_leading_zeros():
    assert "write {{1}}" in only_error("{{ 1 }}", style="numbered")
    assert "from {{1}}" in placeholder_errors("{{0}} {{1}}", style="numbered", known=None)[0]
    assert "not a numbered variable" in only_error("{{1}} {{name}}", style="numbered")


def test_dlt_text_accepts_var_slots_and_refuses_braces_and_unknown_kinds():
    assert placeholder_errors("OTP {#var#} {#numeric#}", style="dlt", known=None) == []
    assert "{#var#}" in only_error("Hi {{name}}", style="dlt")
    assert "write {#var#}" in only_error("Hi {#VAR#}", style="dlt")
    assert "never closes" in only_error("Hi {#var", style="dlt")


def test_single_braces_are_plain_text():
    assert placeholder_errors("Use code {ABC} today", style="named", known=KNOWN) == []


# --- rendering -----------------------------------------------------------------------------------


def test_render_fills_flat_and_nested_values():
    text = "Hi {{ customer.name }}, pay {{context.amount}} for {{event.order_id}}"
    values = {"customer.name": "Asha", "context": {"amount": "₹500"}, "event": {"order_id": 42}}
    assert placeholder_render(text, values, style="named") == "Hi Asha, pay ₹500 for 42"


def test_render_lists_every_missing_variable_not_just_the_first():
    with pytest.raises(MissingVariable) as caught:
        placeholder_render("{{a}} {{b}} {{a}} {{c}}", {"b": 1}, style="named")
    assert caught.value.names == ["a", "c"]


def test_a_none_value_counts_as_missing():
    with pytest.raises(MissingVariable) as caught:
        placeholder_render("Hi {{name}}", {"name": None}, style="named")
    assert caught.value.names == ["name"]


def test_render_never_reinterprets_a_value():
    text = "Hi {{name}}"
    values = {"name": "{{secret}} {% load x %} {#var#}", "secret": "leak"}
    assert placeholder_render(text, values, style="named") == "Hi {{secret}} {% load x %} {#var#}"


def test_render_does_not_read_attributes_of_objects():
    class Customer:
        name = "Asha"

    with pytest.raises(MissingVariable):
        placeholder_render("{{customer.name}}", {"customer": Customer()}, style="named")


def test_render_refuses_template_tags_anywhere():
    with pytest.raises(PlaceholderSyntaxError) as caught:
        placeholder_render("Hello {% now 'Y' %}", {}, style="named")
    assert "template tag" in caught.value.errors[0]


def test_render_refuses_malformed_text_before_looking_for_values():
    with pytest.raises(PlaceholderSyntaxError):
        placeholder_render("{{ x|safe }}", {"x": "1"}, style="named")


def test_render_numbered_and_dlt_text():
    assert placeholder_render("{{1}} owes {{2}}", {"1": "Asha", "2": 5}, style="numbered") == (
        "Asha owes 5"
    )
    assert placeholder_render(
        "OTP {#var#} for {#var#}", {"1": "1234", "2": "login"}, style="dlt"
    ) == ("OTP 1234 for login")


def test_text_without_placeholders_renders_unchanged():
    assert placeholder_render("Plain { text }", {}, style="named") == "Plain { text }"


@given(st.text(max_size=200), st.sampled_from(["named", "numbered", "dlt"]))
def test_scanning_any_text_never_crashes(text, style):
    errors = placeholder_errors(text, style=style, known=set())
    names = placeholder_names(text, style=style)
    assert isinstance(errors, list) and isinstance(names, list)


@given(st.text(alphabet=st.characters(exclude_characters="{}%#"), max_size=200))
def test_text_without_braces_renders_to_itself(text):
    assert placeholder_render(text, {}, style="named") == text


@given(st.text(max_size=50))
def test_any_value_is_pasted_verbatim(value):
    assert placeholder_render("<{{v}}>", {"v": value}, style="named") == f"<{value}>"


# --- typed variables -----------------------------------------------------------------------------


def test_variable_types_and_names_are_checked():
    assert Variable("context.amount", "money", "journey context").type == "money"
    with pytest.raises(ValueError):
        Variable("amount", "currency", "event")
    with pytest.raises(ValueError):
        Variable("x.__class__", "text", "event")


def test_indian_grouping_puts_commas_after_thousands_then_every_two_digits():
    assert [indian_grouping(d) for d in ("1", "999", "1000", "123456", "12345678")] == [
        "1",
        "999",
        "1,000",
        "1,23,456",
        "1,23,45,678",
    ]


def test_money_is_rupees_with_indian_grouping_and_two_decimals():
    assert variable_format(123456, "money", "en") == "₹1,23,456.00"
    assert variable_format(Decimal("1234.565"), "money", "en") == "₹1,234.57"
    assert variable_format("1,00,000", "money", "hi") == "₹1,00,000.00"
    assert variable_format(-1234.5, "money", "en") == "-₹1,234.50"
    assert variable_format(-0.001, "money", "en") == "₹0.00"


def test_numbers_use_indian_grouping_and_keep_their_decimals():
    assert variable_format(12345678, "number", "en") == "1,23,45,678"
    assert variable_format("1234.5", "number", "en") == "1,234.5"


def test_numbers_refuse_text_and_booleans():
    with pytest.raises(ValueError):
        variable_format("lots", "money", "en")
    with pytest.raises(TypeError):
        variable_format(True, "number", "en")


def test_dates_read_as_day_short_month_year():
    assert variable_format(date(2026, 12, 5), "date", "en") == "5 Dec 2026"
    assert variable_format(datetime(2026, 1, 15, 10, 30), "date", "en") == "15 Jan 2026"
    assert variable_format("2026-12-05", "date", "en_IN") == "5 Dec 2026"
    assert variable_format(date(2026, 12, 5), "date", "hi") == "5 दिसंबर 2026"


def test_indian_mobile_numbers_are_shown_with_the_country_code():
    for raw in ("9876543210", "+91 98765-43210", "919876543210", "09876543210"):
        assert variable_format(raw, "phone", "en") == "+91 98765 43210"
    assert variable_format("+44 20 7946 0958", "phone", "en") == "+44 20 7946 0958"


def test_text_and_urls_are_shown_as_given():
    assert variable_format(42, "text", "en") == "42"
    assert variable_format("https://x.in/a", "url", "en") == "https://x.in/a"


@given(st.integers(min_value=0, max_value=10**15))
def test_indian_grouping_only_adds_commas(number):
    grouped = variable_format(number, "number", "en")
    assert grouped.replace(",", "") == str(number)
    parts = grouped.split(",")
    assert len(parts[-1]) == 3 or len(parts) == 1
    assert all(len(part) == 2 for part in parts[1:-1])
