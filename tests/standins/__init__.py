"""Local stand-ins for Twilio, Meta WhatsApp Cloud and Exotel (127.0.0.1, random ports).

Use them as context managers (``with TwilioStandin() as twilio: ...``) or through the pytest
fixtures in ``tests.standins.fixtures``; ``CallbackSink`` plays our webhook endpoint.
"""

from tests.standins.base import CallbackSink, Fault, Recorded, Reply, StandinServer
from tests.standins.exotel import ExotelStandin
from tests.standins.meta import MetaStandin
from tests.standins.twilio import TwilioStandin

__all__ = [
    "CallbackSink",
    "ExotelStandin",
    "Fault",
    "MetaStandin",
    "Recorded",
    "Reply",
    "StandinServer",
    "TwilioStandin",
]
