"""The conversation engine: who is talking, which step runs, state saved, replies translated."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from rapidfuzz import fuzz, process

from domain.members.model import ChatUser, Member
from domain.shared.errors import DomainError
from domain.updates.model import ClaimState, UpdateAlreadyHandled
from domain.updates.services import STEP_CLAIM, claim_in
from handlers.cleaning import clean_inbound
from handlers.intents import Guess, IntentMatcher, Match, is_cjk
from handlers.routing import Context, Deps, Handler, Preload, Router
from handlers.types import (
    Button,
    Inbound,
    InboundKind,
    Keyboard,
    Outcome,
    OutgoingMessage,
    RenderedButton,
    Reply,
)

log = logging.getLogger(__name__)

IDLE = ""
GUESS_BUTTON = "dym"  # "did you mean": dym:i:<intent>, dym:f:<faq key>, dym:c:<command>
# A mistyped command this close (0-100) to a command of the menu is offered as a button.
COMMAND_MIN_SCORE = 70.0
# What a member who wrote something the bot did not understand may tap instead of retyping.
MENU_GUESSES = ("points", "coupons", "exchange", "complaint", "help")
# Commands that end a paused flow (joining) rather than pause it.
RESTARTING_COMMANDS = ("cancel", "start")


class Conversation:
    """Turns one inbound event into translated replies; framework-neutral and stateless itself.

    All state is in the chat_users row, so any worker can take the next message of a chat.
    """

    def __init__(self, deps: Deps, routers: Iterable[Router]) -> None:
        self.deps = deps
        self.router = Router()
        for router in routers:
            self.router.include(router)
        self.matcher = IntentMatcher(
            {name: phrases for name, (_h, phrases, _m) in self.router.intents.items()},
            deps.policy.faq,
            deps.policy.faq_min_score,
        )

    def bot_commands(self, lang: str) -> list[tuple[str, str]]:
        """Commands with a description, for Telegram's command menu (setMyCommands)."""
        return [
            (spec.name, self.deps.translator(lang, spec.description_key))
            for spec in self.router.commands.values()
            if spec.description_key
        ]

    async def handle(self, inbound: Inbound) -> list[OutgoingMessage]:
        """Answer one event. Never raises for anything a person can send; raises
        UpdateAlreadyHandled when the update being handled was claimed before (a redelivery)."""
        inbound = clean_inbound(inbound)  # NUL, control characters, invalid code points
        preload = self._preload_for(inbound)
        try:
            chat_user, member, preloaded = await self._identify(inbound, preload)
        except UpdateAlreadyHandled:
            raise  # a redelivery: the adapter skips it, nobody is answered twice
        except Exception:
            log.exception("could not load who is talking (%s)", inbound.kind.value)
            return self.render(
                _language_guess(inbound),
                (Reply("error.unexpected"),),
                callback_id=inbound.callback_id,
            )
        ctx = Context(inbound, chat_user, member, self.deps, preloaded=preloaded)
        loaded = (chat_user.state, dict(chat_user.state_data))
        try:
            outcome = await self._dispatch(ctx)
            if inbound.kind is InboundKind.COMMAND:
                outcome = self._suggest_commands(outcome, inbound.command)
        except DomainError as exc:
            outcome = Outcome((Reply(exc.key, exc.params),))
        except Exception:
            log.exception("a conversation step failed for %s", inbound.kind.value)
            outcome = Outcome((Reply("error.unexpected"),), next_state=IDLE, state_data={})
        try:
            await self._save_state(ctx, outcome, loaded)
        except Exception:
            log.exception("could not save the conversation state")
            outcome = Outcome((Reply("error.unexpected"),))
        return self.render(ctx.lang, outcome.replies, callback_id=inbound.callback_id)

    def _preload_for(self, inbound: Inbound) -> Preload | None:
        """The preload of the member's command about to run, if it has one (routing.Preload).
        Only a private chat's: a member's command in a group shows nothing of theirs."""
        if inbound.kind is not InboundKind.COMMAND or not inbound.is_private:
            return None
        spec = self.router.commands.get(inbound.command)
        return spec.preload if spec is not None else None

    async def _identify(
        self, inbound: Inbound, preload: Preload | None = None
    ) -> tuple[ChatUser, Member | None, Any]:
        """Who is talking, in the step's first unit of work, which also claims the update, and
        what the command's `preload` reads of the member (None without one).

        When the adapter handed over the update's claim (domain.updates.services), it is made
        here, after the writes loading who is talking needs (a new person's account, a changed
        language) and in their transaction: a redelivered update stops here (UpdateAlreadyHandled)
        having written nothing. The common message, a known person with nothing to update, reads
        and claims only: each of those statements is a transaction of its own
        (storage.driver_statements), no BEGIN or COMMIT round trip on PostgreSQL, and the write
        lock of SQLite is held for the claim alone.
        """
        claim = STEP_CLAIM.get()
        if claim is not None and claim.state is not ClaimState.PENDING:
            claim = None  # made already (a step handed to another conversation inside this one)
        async with self.deps.uow_factory() as uow:
            # One query for the account and its member: most messages need nothing more.
            chat_user, member = await uow.chat_users.get_with_member(
                inbound.channel, inbound.user_id
            )
            preloaded = None
            if preload is not None and member is not None:
                # The member of the join: the one this account is linked to.
                preloaded = await preload(uow, member)
            write = False
            if chat_user is None:
                # A new person's first two messages may reach two workers at once: end what was
                # read (SQLite refuses to turn an outdated read into a write) and insert-or-get.
                await uow.rollback()
                chat_user = await uow.chat_users.add_or_get(
                    ChatUser(
                        channel=inbound.channel,
                        user_id=inbound.user_id,
                        chat_id=inbound.chat_id,
                        telegram_language=inbound.language_code,
                    )
                )
                write = True
            elif _refresh(chat_user, inbound):
                await uow.chat_users.save(chat_user)
                write = True
            if claim is not None:
                if not await claim_in(uow, claim):
                    await uow.rollback()  # the writes above, if any, are undone with it
                    claim.state = ClaimState.REDELIVERED
                    raise UpdateAlreadyHandled(claim.update_id)
                write = True
            if chat_user.member_id is None:
                member = None
            elif member is None or member.id != chat_user.member_id:
                member = await uow.members.get(chat_user.member_id)
            if write:
                await uow.commit()
                if claim is not None:
                    claim.state = ClaimState.CLAIMED
        return chat_user, member, preloaded

    async def _dispatch(self, ctx: Context) -> Outcome:
        inbound, router = ctx.inbound, self.router
        if not inbound.is_private and inbound.kind not in (
            InboundKind.COMMAND,
            InboundKind.BUTTON,
        ):
            # Group chatter is not for us, except where a feature listens (the staff chat).
            group = router.states.get("group")
            return await group(ctx) if group is not None else Outcome()
        if inbound.kind is InboundKind.COMMAND:
            spec = router.commands.get(inbound.command)
            if spec is None:
                return self._unknown_command(ctx)
            paused = (ctx.chat_user.state, dict(ctx.chat_user.state_data))
            resumes = paused[0] in router.resumable and inbound.command not in RESTARTING_COMMANDS
            if resumes:
                ctx.paused_state = paused[0]
            ctx.chat_user.state, ctx.chat_user.state_data = IDLE, {}  # a command starts afresh
            outcome = await self._guarded(ctx, spec.handler, spec.member_only)
            if resumes:
                return await self._resume(ctx, outcome, paused)
            return outcome
        if inbound.kind is InboundKind.BUTTON:
            prefix = inbound.payload.split(":", 1)[0]
            if prefix == GUESS_BUTTON:
                return await self._chosen_guess(ctx)
            found = router.buttons.get(prefix)
            if found is None:
                return Outcome((Reply("button.expired"),))
            return await self._guarded(ctx, found[0], found[1])
        state_handler = router.states.get(ctx.chat_user.state)
        if state_handler is not None:
            return await state_handler(ctx)
        if inbound.kind is InboundKind.CONTACT:
            contact = router.states.get("contact")
            if contact is not None:
                return await contact(ctx)
        if inbound.kind is InboundKind.PHOTO:
            # Outside any flow a photo has no step of its own; a feature may take it.
            photo = router.states.get("photo")
            if photo is not None:
                return await photo(ctx)
        if inbound.kind is InboundKind.TEXT:
            return await self._free_text(ctx)
        return Outcome((Reply("other.unsupported"),))

    async def _resume(
        self, ctx: Context, outcome: Outcome, paused: tuple[str, dict[str, Any]]
    ) -> Outcome:
        """After a command sent mid-flow, the flow's state and data come back (a name and a
        birthday already given are kept) and its question is asked again."""
        state, data = paused
        ctx.chat_user.state, ctx.chat_user.state_data = state, data
        again = await self.router.resumable[state](ctx)
        return Outcome((*outcome.replies, *again.replies), next_state=state, state_data=data)

    async def _guarded(self, ctx: Context, handler: Handler, member_only: bool) -> Outcome:
        if member_only and not ctx.inbound.is_private:
            # Points, coupons and profiles are personal: never shown to a whole group.
            return Outcome((Reply("chat.private_only"),))
        if member_only and ctx.member is None:
            return Outcome((Reply("link.required"),))
        return await handler(ctx)

    async def _free_text(self, ctx: Context) -> Outcome:
        text = ctx.inbound.payload
        if len(text) > self.deps.policy.max_text_length:
            return Outcome((Reply("text.too_long", {"max": self.deps.policy.max_text_length}),))
        guess = self.matcher.guess(text)
        if guess.sure is not None:
            return await self._run_match(ctx, guess.sure)
        fallback = self.router.states.get("fallback")
        if fallback is not None:
            # A feature may still take it (more about an open complaint, or an offer to open
            # one); when it has nothing to say, the member gets guesses to tap, never a wall.
            outcome = await fallback(ctx)
            if outcome.replies and outcome.replies[0].key != "text.not_understood":
                return outcome
        return Outcome((self._guess_reply(ctx, guess),))

    async def _run_match(self, ctx: Context, match: Match) -> Outcome:
        if match.kind == "faq":
            entry = next(e for e in self.deps.policy.faq if e.key == match.name)
            return Outcome((Reply("faq.answer", {"answer": entry.answer(ctx.lang)}),))
        handler, _phrases, member_only = self.router.intents[match.name]
        return await self._guarded(ctx, handler, member_only)

    def _guess_reply(self, ctx: Context, guess: Guess) -> Reply:
        """Did you mean: the top guesses as buttons, or the main menu when there are none."""
        if guess.guesses:
            rows = [(self._guess_button(ctx, m),) for m in guess.guesses]
            return Reply("guess.ask", buttons=tuple(rows))
        rows = [
            (self._guess_button(ctx, Match("intent", name, 0.0)),)
            for name in MENU_GUESSES
            if name in self.router.intents
        ]
        return Reply("guess.none", buttons=tuple(rows))

    def _guess_button(self, ctx: Context, match: Match) -> Button:
        if match.kind == "faq":
            entry = next(e for e in self.deps.policy.faq if e.key == match.name)
            # The FAQ has no titles: its first question in the member's script stands for it.
            wanted = ctx.lang == "zh"
            title = next((q for q in entry.questions if is_cjk(q) == wanted), entry.key)
            return Button("", f"{GUESS_BUTTON}:f:{match.name}"[:64], literal=f"❔ {title}")
        return Button(f"guess.label.{match.name}", f"{GUESS_BUTTON}:i:{match.name}"[:64])

    async def _chosen_guess(self, ctx: Context) -> Outcome:
        """A "did you mean" button: run what it names, as if typed or sent as a command."""
        parts = ctx.inbound.payload.split(":", 2)
        kind, name = (parts[1], parts[2]) if len(parts) == 3 else ("", "")
        if kind == "c" and name in self.router.commands:
            spec = self.router.commands[name]
            ctx.chat_user.state, ctx.chat_user.state_data = IDLE, {}
            ctx.inbound = replace(ctx.inbound, kind=InboundKind.COMMAND, command=name, payload="")
            return await self._guarded(ctx, spec.handler, spec.member_only)
        if kind == "i" and name in self.router.intents:
            ctx.inbound = replace(ctx.inbound, kind=InboundKind.TEXT, payload="")
            return await self._run_match(ctx, Match("intent", name, 1.0))
        if kind == "f" and any(e.key == name for e in self.deps.policy.faq):
            return await self._run_match(ctx, Match("faq", name, 1.0))
        return Outcome((Reply("guess.expired"),))

    def _unknown_command(self, ctx: Context) -> Outcome:
        return Outcome((Reply("command.unknown", {"command": ctx.inbound.command[:32]}),))

    def _suggest_commands(self, outcome: Outcome, command: str) -> Outcome:
        """A mistyped command (/point) gets the menu's closest commands as buttons.

        Applied to every "unknown command" answer, including the one non-staff get for a staff
        command, so the two stay indistinguishable. Only menu commands are suggested: staff
        commands are never revealed.
        """
        if len(outcome.replies) != 1 or outcome.replies[0].key != "command.unknown":
            return outcome
        menu = [name for name, spec in self.router.commands.items() if spec.description_key]
        close = process.extract(
            command.lower(), menu, scorer=fuzz.ratio, limit=3, score_cutoff=COMMAND_MIN_SCORE
        )
        if not close:
            return outcome
        rows = tuple(
            (Button("", f"{GUESS_BUTTON}:c:{name}", literal=f"/{name}"),)
            for name, _score, _i in close
        )
        return Outcome(
            (Reply("guess.command", {"command": command[:32]}, buttons=rows),),
            outcome.next_state,
            outcome.state_data,
        )

    async def _save_state(
        self, ctx: Context, outcome: Outcome, loaded: tuple[str, dict[str, Any]]
    ) -> None:
        chat_user = ctx.chat_user
        new_state = chat_user.state if outcome.next_state is None else outcome.next_state
        new_data = chat_user.state_data if outcome.state_data is None else outcome.state_data
        if outcome.next_state is not None and outcome.state_data is None:
            new_data = {}  # a new state starts with empty data unless the step gives some
        if (new_state, new_data) == loaded:
            return  # most messages change no state: spare the database a round trip
        async with self.deps.uow_factory() as uow:
            # Re-read so changes a step made (language, link) are kept; only state is ours.
            fresh = await uow.chat_users.get(chat_user.channel, chat_user.user_id)
            target = fresh or chat_user
            if target.state == new_state and target.state_data == new_data:
                return
            target.state, target.state_data = new_state, new_data
            await uow.chat_users.save(target)
            await uow.commit()
        chat_user.state, chat_user.state_data = new_state, new_data

    def render(
        self, lang: str, replies: Iterable[Reply], callback_id: str | None = None
    ) -> list[OutgoingMessage]:
        """Replies in `lang`; the language may have changed during the step, so callers pass it."""
        t = self.deps.translator
        out = []
        for item in replies:
            reply_lang = item.params.get("_lang", lang)
            params = {k: v for k, v in item.params.items() if k != "_lang"}
            out.append(
                OutgoingMessage(
                    key=item.key,
                    text=t(reply_lang, item.key, **params),
                    buttons=tuple(
                        tuple(
                            RenderedButton(
                                b.literal
                                if b.literal is not None
                                else t(reply_lang, b.label_key, **b.params),
                                b.data,
                            )
                            for b in row
                        )
                        for row in item.buttons
                    ),
                    keyboard=item.keyboard,
                    contact_button_text=t(reply_lang, "link.share_button")
                    if item.keyboard is Keyboard.REQUEST_CONTACT
                    else "",
                    photo=item.photo,
                    edit=item.edit,
                    document=item.document,
                )
            )
        if callback_id is not None and out:
            # Adapters answer every callback anyway; this tells them which reply belongs to it.
            out[0] = replace(out[0], answer_callback=callback_id)
        return out


def _refresh(chat_user: ChatUser, inbound: Inbound) -> bool:
    """Bring the account up to date with what the message says; True when anything changed."""
    changed = False
    if inbound.language_code and chat_user.telegram_language != inbound.language_code:
        chat_user.telegram_language = inbound.language_code
        changed = True
    if inbound.is_private and chat_user.chat_id != inbound.chat_id:
        chat_user.chat_id = inbound.chat_id
        changed = True
    if not chat_user.reachable:
        chat_user.reachable = True  # they wrote to us, so we may write again
        changed = True
    return changed


def _language_guess(inbound: Inbound) -> str:
    return ChatUser(
        inbound.channel, inbound.user_id, inbound.chat_id, telegram_language=inbound.language_code
    ).effective_language()
