"""The one WebSocket endpoint: a browser subscribes to topics it may see and gets notices."""

from collections.abc import Callable
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from console.live import live_group, live_relay_ensure

# prefix -> check(workspace_id, ident) -> allowed. Apps above console register their topics.
TOPIC_CHECKS: dict[str, Callable[[int, str], bool]] = {}


def topic_check_register(prefix: str, check: Callable[[int, str], bool]) -> None:
    TOPIC_CHECKS[prefix] = check


def _customer_in_workspace(workspace_id: int, ident: str) -> bool:
    from console.models import Customer

    return (
        ident.isdigit()
        and Customer.objects.filter(id=int(ident), workspace_id=workspace_id).exists()
    )


topic_check_register("customer", _customer_in_workspace)
topic_check_register("workspace", lambda workspace_id, ident: ident == str(workspace_id))


def _allowed_topics(user, session_workspace: int | None, topics: list[str]) -> list[str]:
    memberships = {m.workspace_id for m in user.memberships.all()}
    workspace_id = (
        session_workspace if session_workspace in memberships else min(memberships, default=None)
    )
    if workspace_id is None:
        return []
    allowed = []
    for topic in topics:
        prefix, _, ident = topic.partition(":")
        check = TOPIC_CHECKS.get(prefix)
        if check is not None and check(workspace_id, ident):
            allowed.append(topic)
    return allowed


class LiveConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=4401)
            return
        query = parse_qs(self.scope.get("query_string", b"").decode())
        wanted = [t for t in ",".join(query.get("topics", [])).split(",") if t][:50]
        session = self.scope.get("session")
        session_ws = session.get("workspace_id") if session is not None else None
        self.topics = await database_sync_to_async(_allowed_topics)(user, session_ws, wanted)
        for topic in self.topics:
            await self.channel_layer.group_add(live_group(topic), self.channel_name)
        live_relay_ensure()
        await self.accept()
        await self.send_json({"type": "subscribed", "topics": self.topics})

    async def disconnect(self, code: int) -> None:
        for topic in getattr(self, "topics", []):
            await self.channel_layer.group_discard(live_group(topic), self.channel_name)

    async def live_notice(self, message: dict) -> None:
        await self.send_json({"type": "notice", "topic": message["topic"], "data": message["data"]})
