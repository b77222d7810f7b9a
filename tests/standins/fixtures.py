"""Pytest fixtures for the stand-ins: ``from tests.standins.fixtures import *`` in a test module
(or a conftest) makes ``twilio_standin``, ``meta_standin``, ``exotel_standin`` and ``sink``
available; each server lives for one test."""

import pytest

from tests.standins.base import CallbackSink
from tests.standins.exotel import ExotelStandin
from tests.standins.meta import MetaStandin
from tests.standins.twilio import TwilioStandin


@pytest.fixture
def sink():
    with CallbackSink() as server:
        yield server


@pytest.fixture
def twilio_standin():
    with TwilioStandin() as server:
        yield server


@pytest.fixture
def meta_standin(sink):
    with MetaStandin(webhook_url=sink.webhook_url("/webhooks/meta")) as server:
        yield server


@pytest.fixture
def exotel_standin():
    templates = {
        "1107160000000000001": "Your order {#var#} is out for delivery. - MUZZTK",
        "1107160000000000002": "आपका ऑर्डर {#var#} आज पहुंचेगा।",
    }
    with ExotelStandin(templates=templates, dnd={"+919800000099"}) as server:
        yield server


__all__ = ["exotel_standin", "meta_standin", "sink", "twilio_standin"]
