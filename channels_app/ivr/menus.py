"""IVR menus: what each digit does (parsed from ``IvrMenu.actions``), with defaults by the
voice template's menu labels, and the prompts spoken back."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from channels_app.models.calls import IvrMenu

ACTIONS = ("send", "agent", "say", "repeat")
DEFAULT_GREETING = "Welcome. Press 1 to hear your latest update, or press 2 to talk to us."
# Labels used by voice templates' menus, mapped to an action when no menu row says otherwise.
LABEL_ACTIONS = {
    "talk_to_us": {"action": "agent"},
    "agent": {"action": "agent"},
    "callback": {"action": "agent"},
}


@dataclass(frozen=True)
class DigitAction:
    digit: str
    label: str = ""
    action: str = "say"
    template_key: str = ""
    channel: str = "best"
    say: str = ""

    @classmethod
    def parse(cls, digit: str, data: dict[str, Any]) -> DigitAction:
        action = data.get("action", "say")
        if action not in ACTIONS:
            raise ValueError(f"actions.{digit}.action: use one of {', '.join(ACTIONS)}")
        if action == "send" and not data.get("template_key"):
            raise ValueError(f"actions.{digit}.template_key: a send needs a template key")
        if not (digit.isdigit() or digit in "*#") or len(digit) != 1:
            raise ValueError(f"actions.{digit}: a digit is one key, 0-9, * or #")
        return cls(
            digit=digit,
            label=str(data.get("label", ""))[:60],
            action=action,
            template_key=str(data.get("template_key", "")),
            channel=str(data.get("channel", "best")),
            say=str(data.get("say", ""))[:300],
        )


@dataclass(frozen=True)
class MenuSpec:
    greeting: str = DEFAULT_GREETING
    actions: dict[str, DigitAction] = field(default_factory=dict)

    @classmethod
    def parse(cls, greeting: str, actions: dict[str, Any]) -> MenuSpec:
        parsed = {d: DigitAction.parse(d, dict(a)) for d, a in (actions or {}).items()}
        return cls(greeting=greeting or DEFAULT_GREETING, actions=parsed)

    def menu_labels(self) -> dict[str, str]:
        return {d: a.label or a.action for d, a in sorted(self.actions.items())}


DEFAULT_INBOUND = MenuSpec.parse(
    DEFAULT_GREETING,
    {
        "1": {"action": "repeat", "label": "latest update"},
        "2": {"action": "agent", "label": "talk to us", "say": "Thank you. We will call you back."},
    },
)


def menu_row_for(*, workspace, key: str, language: str) -> IvrMenu | None:
    """The menu stored under ``key`` in ``language``, else in English."""
    rows = IvrMenu.objects.filter(workspace=workspace, key=key)
    return rows.filter(language=language).first() or rows.filter(language="en").first()


def menu_for(*, workspace, key: str, language: str) -> MenuSpec | None:
    row = menu_row_for(workspace=workspace, key=key, language=language)
    if row is None:
        return None
    return MenuSpec.parse(row.greeting, row.actions)


def inbound_menu(*, workspace, menu_id: int | None, language: str) -> MenuSpec:
    """An inbound call's menu: the one its caller's context chose (``Call.menu_id``), else the
    workspace's "inbound" menu, else the built-in default."""
    if menu_id:
        row = IvrMenu.objects.filter(workspace=workspace, pk=menu_id).first()
        if row is not None:
            return MenuSpec.parse(row.greeting, row.actions)
    return menu_for(workspace=workspace, key="inbound", language=language) or DEFAULT_INBOUND


def action_for(menu: MenuSpec | None, digit: str, template_menu: dict[str, str]) -> DigitAction:
    """The configured action, else one implied by the voice template's label, else "say"."""
    if menu is not None and digit in menu.actions:
        return menu.actions[digit]
    label = template_menu.get(digit, "")
    if label in LABEL_ACTIONS:
        return DigitAction.parse(digit, {"label": label, **LABEL_ACTIONS[label]})
    if label:
        return DigitAction(digit=digit, label=label, action="say")
    return DigitAction(digit=digit, action="say", say="That key is not in the menu.")


def ivr_menu_save(*, workspace, key: str, language: str, greeting: str, actions: dict) -> IvrMenu:
    """Validate (ValueError names the field) and store one menu."""
    if not greeting.strip():
        raise ValueError("greeting: say something first, e.g. 'Welcome to Muzz Retail.'")
    MenuSpec.parse(greeting, actions)
    row, _ = IvrMenu.objects.update_or_create(
        workspace=workspace,
        key=key,
        language=language,
        defaults={"greeting": greeting.strip(), "actions": actions},
    )
    return row
