"""How a conversation step is found: commands, buttons, states and intents, per feature."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from domain.tickets.model import Desk
from handlers.types import Button, Inbound, Outcome, Reply

if TYPE_CHECKING:
    from domain.members.model import ChatUser, Member
    from domain.shared.clock import Clock
    from domain.shared.policy import Policy
    from domain.shared.ports import UnitOfWork, UnitOfWorkFactory
    from handlers.i18n import Translator


@dataclass
class Deps:
    """What every conversation step may use; built once by the composition root."""

    uow_factory: UnitOfWorkFactory
    policy: Policy
    clock: Clock
    translator: Translator
    # The staff group and the admins of ADMIN_IDS, from the settings.
    desk: Desk = field(default_factory=Desk)
    # The bot's @name once the messenger has told it (the surveys' referral link names it).
    bot_username: str | None = None


@dataclass
class Context:
    """One inbound event with who sent it and what the conversation remembers."""

    inbound: Inbound
    chat_user: ChatUser
    member: Member | None
    deps: Deps
    # The flow a command interrupted (joining), which resumes after the command's answer.
    paused_state: str = ""
    # What the command's `preload` read in the unit of work that found who is talking (None
    # when it has none, or the person is no member).
    preloaded: Any = None

    @property
    def lang(self) -> str:
        return self.chat_user.effective_language()

    @property
    def now(self) -> datetime:
        return self.deps.clock.now()

    @property
    def data(self) -> dict[str, Any]:
        return self.chat_user.state_data

    def t(self, key: str, **params: Any) -> str:
        return self.deps.translator(self.lang, key, **params)


Handler = Callable[[Context], Awaitable[Outcome]]
# A member's data a command reads anyway, read with who is talking, in the same unit of work
# and before the update's claim: the command's step then needs no unit of work of its own in
# the usual case (/points).
Preload = Callable[["UnitOfWork", "Member"], Awaitable[Any]]


@dataclass(frozen=True)
class CommandSpec:
    name: str
    handler: Handler
    description_key: str | None  # shown in Telegram's command menu when set
    member_only: bool
    preload: Preload | None = None


class Router:
    """A feature's steps; the conversation includes every feature's router."""

    def __init__(self) -> None:
        self.commands: dict[str, CommandSpec] = {}
        self.buttons: dict[str, tuple[Handler, bool]] = {}
        self.states: dict[str, Handler] = {}
        self.intents: dict[str, tuple[Handler, tuple[str, ...], bool]] = {}
        # States a command only pauses (joining): the step that asks their question again.
        self.resumable: dict[str, Handler] = {}

    def command(
        self,
        *names: str,
        description_key: str | None = None,
        member_only: bool = False,
        preload: Preload | None = None,
    ) -> Callable[[Handler], Handler]:
        """`preload`, for a member's command, reads what its step needs in the unit of work
        that finds who is talking (Context.preloaded); the step must still work without it
        (the same step answers the intent, and a person who is no member has nothing read)."""

        def register(handler: Handler) -> Handler:
            for i, name in enumerate(names):
                self.commands[name] = CommandSpec(
                    name, handler, description_key if i == 0 else None, member_only, preload
                )
            return handler

        return register

    def button(self, prefix: str, member_only: bool = False) -> Callable[[Handler], Handler]:
        """Callback data is `prefix:args`; keep it under Telegram's 64 bytes."""

        def register(handler: Handler) -> Handler:
            self.buttons[prefix] = (handler, member_only)
            return handler

        return register

    def state(self, name: str) -> Callable[[Handler], Handler]:
        """The step that takes whatever the person sends next while in this state.

        Some names are not states a conversation enters but hooks the engine calls: "contact"
        (a shared contact outside any flow), "photo" (likewise a photo), "fallback" (free text
        nothing else understood) and "group" (any group message that is no command or button).
        """

        def register(handler: Handler) -> Handler:
            self.states[name] = handler
            return handler

        return register

    def intent(
        self, name: str, phrases: tuple[str, ...], member_only: bool = False
    ) -> Callable[[Handler], Handler]:
        """Free text close to one of `phrases` (zh and en) runs this step."""

        def register(handler: Handler) -> Handler:
            self.intents[name] = (handler, phrases, member_only)
            return handler

        return register

    def resume(self, *states: str) -> Callable[[Handler], Handler]:
        """A command sent in one of `states` (other than /cancel and /start) runs, and then the
        conversation comes back to the state with its data and this step asks again."""

        def register(handler: Handler) -> Handler:
            for name in states:
                self.resumable[name] = handler
            return handler

        return register

    def include(self, other: Router) -> None:
        tables: list[tuple[dict[str, Any], dict[str, Any]]] = [
            (self.commands, other.commands),
            (self.buttons, other.buttons),
            (self.states, other.states),
            (self.intents, other.intents),
            (self.resumable, other.resumable),
        ]
        for table, incoming in tables:
            clash = table.keys() & incoming.keys()
            if clash:
                raise ValueError(f"two features register the same names: {sorted(clash)}")
            table.update(incoming)


def reply(key: str, **params: Any) -> Reply:
    return Reply(key, params)


def buttons(*rows: list[Button]) -> tuple[tuple[Button, ...], ...]:
    return tuple(tuple(row) for row in rows)


def say(
    key: str, *, state: str | None = None, data: dict[str, Any] | None = None, **params: Any
) -> Outcome:
    """The common case: one reply, optionally moving to a state."""
    return Outcome((Reply(key, params),), next_state=state, state_data=data)
