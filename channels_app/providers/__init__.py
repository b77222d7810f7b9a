"""Provider adapters behind one interface (see ``base``), one module per provider kind.

Importing this package registers every kind: ``provider_get("twilio")`` returns the adapter
class, constructed with that provider's credentials (a dataclass or a plain mapping).
"""

from channels_app.providers import exotel, meta, simulator, twilio  # noqa: F401  (registers)
from channels_app.providers.base import (
    AuthFailed,
    CallStatus,
    InboundCall,
    InboundMessage,
    KeyPress,
    OutboundMessage,
    PermanentError,
    ProviderAdapter,
    ProviderError,
    RateLimited,
    ReplyButton,
    SendResult,
    SmsFields,
    StatusUpdate,
    TransientError,
    VoiceFields,
    WebhookMalformed,
    WebhookRequest,
    WhatsAppFields,
    provider_get,
    provider_kinds,
    provider_register,
)

__all__ = [
    "AuthFailed",
    "CallStatus",
    "InboundCall",
    "InboundMessage",
    "KeyPress",
    "OutboundMessage",
    "PermanentError",
    "ProviderAdapter",
    "ProviderError",
    "RateLimited",
    "ReplyButton",
    "SendResult",
    "SmsFields",
    "StatusUpdate",
    "TransientError",
    "VoiceFields",
    "WebhookMalformed",
    "WebhookRequest",
    "WhatsAppFields",
    "provider_get",
    "provider_kinds",
    "provider_register",
]
