"""channels_app's tables, one module per capability (templates, consent, policies, outbox)."""

from channels_app.models.calls import *  # noqa: F401,F403
from channels_app.models.consent import *  # noqa: F401,F403
from channels_app.models.outbox import *  # noqa: F401,F403
from channels_app.models.policies import *  # noqa: F401,F403
from channels_app.models.providers import *  # noqa: F401,F403
from channels_app.models.templates import *  # noqa: F401,F403
