"""Node kinds, one module each; importing this package registers them all."""

from . import (  # noqa: F401
    branch,
    ends,
    escalation,
    send,
    split,
    triggers,
    update,
    voice_call,
    wait,
    wait_for,
    webhook,
)
