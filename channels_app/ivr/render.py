"""IVR answers in each provider's language: TwiML for Twilio, Passthru answers for Exotel."""

from __future__ import annotations

from channels_app.ivr.services import IvrAnswer
from channels_app.providers.exotel import passthru_answer
from channels_app.providers.twiml import twiml_gather, twiml_say
from channels_app.webhooks.paths import webhook_url


def twiml_answer(answer: IvrAnswer, account_id: int) -> str:
    if answer.hangup or not answer.menu:
        return twiml_say(answer.say)
    action = webhook_url("twilio", account_id, "voice/gather") + f"?call={answer.call_id}"
    return twiml_gather(answer.say, action_url=action, menu=answer.menu)


def exotel_answer(answer: IvrAnswer) -> tuple[int, str]:
    """A Passthru applet branches on our status (200: the key was valid / greet; 302: not);
    a dynamic-greeting applet reads the text we answer with."""
    return passthru_answer(answer.valid), answer.say
