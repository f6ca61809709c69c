"""A Telegram Bot API stand-in on 127.0.0.1, realistic enough for aiogram and PTB to talk to.

Tests play the people (send texts, share contacts, press buttons) and read what the bot did
(per-chat transcripts of sent and edited messages, every API call). It answers the way Telegram
does where the frameworks care: `getMe` with `is_bot`, dates in seconds, `from` on the bot's
messages, `getUpdates` that honours `offset` and long-waits, edits that drop an inline keyboard
they do not repeat, and the exact error shapes for 400, 403, 404 and 429. When a webhook is set,
updates are pushed to it with the secret header instead of waiting for `getUpdates`.

Groups too: a supergroup, with forum topics if asked (`createForumTopic`; messages in a topic
carry `message_thread_id` and `is_topic_message`, and, unless they answer something else, reply
to the topic's creation message as in Telegram), where people write in a topic or in reply to
a message, and where the bot posts with `message_thread_id` or `reply_parameters`.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

logger = logging.getLogger(__name__)

TOKEN = "123456789:AAE-retailbot-standin-token"
BOT_ID = 123456789
BOT_USERNAME = "retailbot_test_bot"

# Parameters that arrive JSON-encoded inside a form body (both frameworks send forms).
_JSON_FIELDS = {
    "reply_markup", "entities", "caption_entities", "commands", "scope", "allowed_updates",
    "link_preview_options", "reply_parameters", "media",
}
_INT_FIELDS = {"chat_id", "message_id", "offset", "limit", "timeout", "from_chat_id",
               "message_thread_id",
               "cache_time", "max_connections"}
_BOOL_FIELDS = {"drop_pending_updates", "show_alert", "disable_notification", "protect_content",
                "resize_keyboard", "one_time_keyboard"}

_NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)
_QUERY_TOO_OLD = (
    "Bad Request: query is too old and response timeout expired or query ID is invalid"
)


class ApiError(Exception):
    """An error answer, in the shape Telegram sends it."""

    def __init__(self, code: int, description: str, parameters: dict[str, Any] | None = None):
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "ok": False, "error_code": self.code, "description": self.description,
        }
        if self.parameters:
            body["parameters"] = self.parameters
        return body


@dataclass
class ApiCall:
    """One request the bot made, with its parameters decoded and uploaded files kept."""

    method: str
    params: dict[str, Any]
    files: dict[str, bytes]
    status: int = 200


@dataclass
class BotOutput:
    """Something the bot showed in a chat: a new message or an edit of an earlier one."""

    kind: str  # "send" or "edit"
    method: str
    message: dict[str, Any]  # the message as it looked right after this call
    reply_markup: dict[str, Any] | None  # as requested: reply keyboards are not echoed back
    photo: bytes | None = None
    document: bytes | None = None  # the file of a sendDocument

    @property
    def text(self) -> str:
        return str(self.message.get("text") or self.message.get("caption") or "")

    @property
    def message_id(self) -> int:
        return int(self.message["message_id"])

    @property
    def thread_id(self) -> int | None:
        """The forum topic it was posted in, if any."""
        if not self.message.get("is_topic_message"):
            return None
        return int(self.message["message_thread_id"])

    @property
    def reply_to_message_id(self) -> int | None:
        quoted = self.message.get("reply_to_message")
        return int(quoted["message_id"]) if quoted else None

    @property
    def inline_buttons(self) -> list[dict[str, Any]]:
        markup = self.message.get("reply_markup") or {}
        return [button for row in markup.get("inline_keyboard", []) for button in row]

    @property
    def requests_contact(self) -> bool:
        rows = (self.reply_markup or {}).get("keyboard", [])
        return any(
            isinstance(button, dict) and button.get("request_contact")
            for row in rows for button in row
        )

    @property
    def removes_keyboard(self) -> bool:
        return bool((self.reply_markup or {}).get("remove_keyboard"))


@dataclass
class _Chat:
    info: dict[str, Any]
    transcript: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    outputs: list[BotOutput] = field(default_factory=list)
    read: int = 0  # how many outputs tests have already consumed
    blocked: str | None = None  # the 403 description while the person has blocked the bot


class BotApiStandIn:
    """The Bot API for one bot, served over HTTP on 127.0.0.1 with a free port.

    Its waiting helpers take an explicit `timeout` (rather than relying on the caller's
    asyncio.timeout) so that every wait in a test is bounded even when the caller forgets.
    """

    def __init__(
        self,
        token: str = TOKEN,
        *,
        bot_id: int = BOT_ID,
        username: str = BOT_USERNAME,
        first_name: str = "Retail Bot",
    ) -> None:
        self.token = token
        self.bot_user = {
            "id": bot_id, "is_bot": True, "first_name": first_name, "username": username,
        }
        self.calls: list[ApiCall] = []
        self.commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.webhook: dict[str, Any] = {"url": "", "secret_token": None}
        self.webhook_deliveries: list[int] = []  # HTTP status per pushed update
        self._chats: dict[int, _Chat] = {}
        self._messages: dict[tuple[int, int], dict[str, Any]] = {}
        self._pending: list[dict[str, Any]] = []  # updates not yet confirmed by an offset
        self._callbacks: dict[str, bool] = {}  # callback query id -> answered
        self._update_ids = itertools.count(1000)
        self._message_ids = itertools.count(1)
        self._callback_ids = itertools.count(1)
        self._changed = asyncio.Condition()
        self._failures: list[tuple[str | None, int | None, ApiError]] = []
        self._topics: dict[tuple[int, int], dict[str, Any]] = {}  # (chat, thread): creation
        self._allowed_updates: list[str] | None = None
        self._closing = False
        self._runner: web.AppRunner | None = None
        self._client: aiohttp.ClientSession | None = None
        self._push_queue: asyncio.Queue[dict[str, Any]] | None = None
        self._pusher: asyncio.Task[None] | None = None
        self._background: set[asyncio.Task[None]] = set()
        self.port = 0

    # -- life cycle -------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """What a bot is configured with as its API server (TELEGRAM_API_URL)."""
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> BotApiStandIn:
        app = web.Application(client_max_size=20 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._serve)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        return self

    async def close(self) -> None:
        self._closing = True
        async with self._changed:
            self._changed.notify_all()  # wake long polls so the server can stop at once
        if self._pusher is not None:
            self._pusher.cancel()
            await asyncio.gather(self._pusher, return_exceptions=True)
        if self._client is not None:
            await self._client.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> BotApiStandIn:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- people and what they do ------------------------------------------------------------

    def user(
        self,
        user_id: int,
        first_name: str = "Mei",
        *,
        language_code: str | None = "zh-hans",
        last_name: str | None = None,
        username: str | None = None,
    ) -> dict[str, Any]:
        """A Telegram user; their private chat with the bot has the same id."""
        user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
        if last_name:
            user["last_name"] = last_name
        if username:
            user["username"] = username
        if language_code:
            user["language_code"] = language_code
        chat: dict[str, Any] = {
            key: user[key] for key in ("first_name", "last_name", "username") if key in user
        }
        self._chats.setdefault(user_id, _Chat(info={"id": user_id, "type": "private", **chat}))
        return user

    def group(self, chat_id: int, title: str = "Staff", *, forum: bool = True) -> dict[str, Any]:
        """A supergroup the bot is in (an admin, so it sees every message); a forum if asked."""
        assert chat_id < 0, "group chat ids are negative"
        info: dict[str, Any] = {"id": chat_id, "type": "supergroup", "title": title}
        if forum:
            info["is_forum"] = True
        self._chats.setdefault(chat_id, _Chat(info=info))
        return info

    def topics(self, chat_id: int) -> dict[int, str]:
        """The forum topics the bot created in a group: thread id -> name."""
        return {
            thread: created["forum_topic_created"]["name"]
            for (chat, thread), created in self._topics.items()
            if chat == chat_id
        }

    def send_text(
        self,
        user: dict[str, Any],
        text: str,
        *,
        chat: int | None = None,
        thread_id: int | None = None,
        reply_to: int | None = None,
    ) -> dict[str, Any]:
        """The person types `text` (in their chat with the bot, or in group `chat`, in a forum
        topic or in reply to a message there); a leading /command gets its bot_command entity."""
        content: dict[str, Any] = {"text": text}
        if text.startswith("/") and len(text) > 1:
            command = text.split(maxsplit=1)[0]
            content["entities"] = [
                {"type": "bot_command", "offset": 0, "length": _utf16_len(command)},
            ]
        return self._user_message(user, content, chat=chat, thread_id=thread_id,
                                  reply_to=reply_to)

    def share_contact(
        self, user: dict[str, Any], phone: str, *, user_id: int | None | str = "self",
        first_name: str | None = None,
    ) -> dict[str, Any]:
        """The person shares a contact: their own by default, or someone else's (another id,
        or None when Telegram does not know whose it is)."""
        contact: dict[str, Any] = {
            "phone_number": phone, "first_name": first_name or user["first_name"],
        }
        owner = user["id"] if user_id == "self" else user_id
        if owner is not None:
            contact["user_id"] = owner
        return self._user_message(user, {"contact": contact})

    def send_sticker(self, user: dict[str, Any], emoji: str = "👍") -> dict[str, Any]:
        sticker = {
            "file_id": "CAACAgIAAxkBAAIBstick", "file_unique_id": "AgADstick", "type": "regular",
            "width": 512, "height": 512, "is_animated": False, "is_video": False, "emoji": emoji,
        }
        return self._user_message(user, {"sticker": sticker})

    def send_photo(
        self,
        user: dict[str, Any],
        caption: str | None = None,
        *,
        chat: int | None = None,
        thread_id: int | None = None,
        reply_to: int | None = None,
        name: str = "photo",
    ) -> dict[str, Any]:
        """A photo in three sizes; `name` makes its file ids distinct from other photos."""
        sizes = [
            {"file_id": f"AgACAgIAAxkB{name}{w}", "file_unique_id": f"AQAD{name}{w}",
             "width": w, "height": w, "file_size": w * 40}
            for w in (90, 320, 800)
        ]
        content: dict[str, Any] = {"photo": sizes}
        if caption:
            content["caption"] = caption
        return self._user_message(user, content, chat=chat, thread_id=thread_id,
                                  reply_to=reply_to)

    def press(
        self, user: dict[str, Any], message: BotOutput | dict[str, Any], data: str
    ) -> dict[str, Any]:
        """The person presses the inline button with `data` on a message the bot sent.

        Like a real client, only a button the message shows right now can be pressed.
        """
        raw = message.message if isinstance(message, BotOutput) else message
        current = self._messages.get((raw["chat"]["id"], raw["message_id"]))
        assert current is not None, f"message {raw['message_id']} does not exist"
        markup = current.get("reply_markup") or {}
        shown = [b.get("callback_data") for row in markup.get("inline_keyboard", []) for b in row]
        assert data in shown, f"message {raw['message_id']} shows no button {data!r}: {shown}"
        return self.press_forged(user, message, data)

    def press_forged(
        self, user: dict[str, Any], message: BotOutput | dict[str, Any], data: str
    ) -> dict[str, Any]:
        """A modified client sends a callback with `data` the message never showed."""
        raw = message.message if isinstance(message, BotOutput) else message
        current = self._messages.get((raw["chat"]["id"], raw["message_id"]))
        assert current is not None, f"message {raw['message_id']} does not exist"
        query = {
            "id": str(next(self._callback_ids) * 1_000_003),
            "from": user,
            "chat_instance": f"-{abs(hash(current['chat']['id'])) % 10**12}",
            "message": json.loads(json.dumps(current)),
            "data": data,
        }
        self._callbacks[query["id"]] = False
        self._chat(user["id"]).transcript.append(("press", query))
        self._enqueue({"callback_query": query})
        return query

    @staticmethod
    def button_data(message: BotOutput, text_fragment: str) -> str:
        """The callback data of the inline button whose label contains `text_fragment`."""
        for button in message.inline_buttons:
            if text_fragment in button.get("text", ""):
                return str(button["callback_data"])
        labels = [button.get("text") for button in message.inline_buttons]
        raise AssertionError(f"no button with {text_fragment!r} among {labels}")

    # -- what the bot did -------------------------------------------------------------------

    def calls_to(self, method: str) -> list[ApiCall]:
        return [call for call in self.calls if call.method == method.lower()]

    def outputs(self, chat_id: int) -> list[BotOutput]:
        """Everything the bot showed in this chat so far, consumed or not."""
        return list(self._chat(chat_id).outputs)

    def transcript(self, chat_id: int) -> list[tuple[str, dict[str, Any]]]:
        """("user", message) / ("press", query) / ("bot", message) / ("edit", message)."""
        return list(self._chat(chat_id).transcript)

    def callback_answered(self, query_id: str) -> bool:
        return self._callbacks.get(query_id, False)

    def commands_for(self, language_code: str = "", scope: str = "default") -> list[str]:
        """The command names registered for a language ("" is the default list)."""
        return [c["command"] for c in self.commands.get((scope, language_code), [])]

    async def wait_for_messages(
        self, chat_id: int, count: int = 1, timeout: float = 5.0  # noqa: ASYNC109
    ) -> list[BotOutput]:
        """The next `count` outputs in the chat that no test has read yet (waits, bounded)."""
        chat = self._chat(chat_id)

        def ready() -> bool:
            return len(chat.outputs) - chat.read >= count

        await self._wait(ready, timeout, f"{count} message(s) in chat {chat_id}")
        taken = chat.outputs[chat.read:chat.read + count]
        chat.read += count
        return taken

    async def replies(
        self, chat_id: int, *, timeout: float = 5.0, quiet: float = 0.25  # noqa: ASYNC109
    ) -> list[BotOutput]:
        """All outputs of the bot's next answer: waits for the first one, then until the chat
        has been quiet for `quiet` seconds (an answer may be several messages)."""
        chat = self._chat(chat_id)
        await self._wait(lambda: len(chat.outputs) > chat.read, timeout,
                         f"a reply in chat {chat_id}")
        deadline = time.monotonic() + timeout
        seen = len(chat.outputs)
        while time.monotonic() < deadline:
            await asyncio.sleep(quiet)
            if len(chat.outputs) == seen:
                break
            seen = len(chat.outputs)
        taken = chat.outputs[chat.read:seen]
        chat.read = seen
        return taken

    async def wait_for_webhook_deliveries(
        self, count: int, timeout: float = 5.0  # noqa: ASYNC109
    ) -> list[int]:
        """The HTTP statuses of the first `count` pushed updates, once they were answered."""
        await self._wait(lambda: len(self.webhook_deliveries) >= count, timeout,
                         f"{count} webhook deliveries")
        return self.webhook_deliveries[:count]

    async def assert_quiet(self, chat_id: int, *, settle: float = 0.2) -> None:
        """Nothing unread in the chat, even after the bot had `settle` seconds to add more."""
        await asyncio.sleep(settle)
        extra = self.unread(chat_id)
        assert not extra, f"the bot also sent {[output.text for output in extra]}"

    def unread(self, chat_id: int) -> list[BotOutput]:
        chat = self._chat(chat_id)
        return chat.outputs[chat.read:]

    async def wait_for_call(
        self, method: str, predicate: Callable[[ApiCall], bool] = lambda call: True,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> ApiCall:
        """The first recorded call to `method` that satisfies `predicate` (waits, bounded)."""
        def found() -> ApiCall | None:
            return next((c for c in self.calls_to(method) if predicate(c)), None)

        await self._wait(lambda: found() is not None, timeout, f"a call to {method}")
        call = found()
        assert call is not None
        return call

    # -- failures on demand -----------------------------------------------------------------

    def forget_message(self, chat_id: int, message_id: int) -> None:
        """The message is gone (deleted by the person, or too old): edits of it fail."""
        self._messages.pop((chat_id, message_id), None)

    def block(self, chat_id: int, reason: str = "Forbidden: bot was blocked by the user") -> None:
        """The person blocks the bot: every send to the chat answers 403 until unblocked."""
        self._chat(chat_id).blocked = reason

    def unblock(self, chat_id: int) -> None:
        self._chat(chat_id).blocked = None

    def fail_next_with_retry_after(
        self, retry_after: int = 5, *, method: str | None = None, chat_id: int | None = None
    ) -> None:
        """The next matching call answers 429 with parameters.retry_after, once.

        Without `method` the next call of any kind fails, which may be a polling getUpdates.
        """
        error = ApiError(
            429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after}
        )
        self._failures.append((method.lower() if method else None, chat_id, error))

    # -- HTTP side --------------------------------------------------------------------------

    async def _serve(self, request: web.Request) -> web.Response:
        method = request.match_info["method"].lower()
        params, files = await _read_params(request)
        call = ApiCall(method=method, params=params, files=files)
        self.calls.append(call)
        await self._notify()  # waiters on a call must not wait for a long poll to end
        try:
            if request.match_info["token"] != self.token:
                raise ApiError(401, "Unauthorized")
            handler = getattr(self, f"_api_{method.lower()}", None)
            if handler is None:
                raise ApiError(404, "Not Found: method not found")
            self._maybe_fail(method, params)
            result = await handler(params, files)
        except ApiError as error:
            call.status = error.code
            return web.json_response(error.body(), status=error.code)
        async with self._changed:
            self._changed.notify_all()
        return web.json_response({"ok": True, "result": result})

    def _maybe_fail(self, method: str, params: dict[str, Any]) -> None:
        chat_id = params.get("chat_id")
        for index, (only_method, only_chat, error) in enumerate(self._failures):
            if only_method not in (None, method):
                continue
            if only_chat is not None and only_chat != chat_id:
                continue
            del self._failures[index]
            raise error
        if isinstance(chat_id, int) and method.startswith(("send", "edit", "copy", "forward")):
            blocked = self._chat(chat_id).blocked
            if blocked:
                raise ApiError(403, blocked)

    # -- the methods --------------------------------------------------------------------------

    async def _api_getme(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        return {**self.bot_user, "can_join_groups": True, "can_read_all_group_messages": False,
                "supports_inline_queries": False}

    async def _api_getupdates(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        if self.webhook["url"]:
            raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active; "
                                "use deleteWebhook to delete the webhook first")
        offset = int(params.get("offset") or 0)
        limit = max(1, min(100, int(params.get("limit") or 100)))
        timeout = max(0.0, min(50.0, float(params.get("timeout") or 0)))
        if params.get("allowed_updates") is not None:
            self._allowed_updates = list(params["allowed_updates"]) or None
        if offset > 0:
            # Confirming: everything below the offset is gone for good.
            self._pending = [u for u in self._pending if u["update_id"] >= offset]
        elif offset < 0:
            self._pending = self._pending[offset:]
        deadline = time.monotonic() + timeout
        async with self._changed:
            while not self._pending and not self._closing:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                try:
                    await asyncio.wait_for(self._changed.wait(), left)
                except TimeoutError:
                    break
        return self._pending[:limit]

    async def _api_sendmessage(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        text = str(params.get("text") or "")
        if not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if _utf16_len(text) > 4096:
            raise ApiError(400, "Bad Request: message is too long")
        return self._bot_message(params, {"text": text}, method="sendmessage")

    async def _api_sendphoto(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        photo = params.get("photo")
        data = _uploaded(params, files, "photo")
        if data is None and not isinstance(photo, str):
            raise ApiError(400, "Bad Request: there is no photo in the request")
        caption = _caption(params)
        size = len(data) if data is not None else 0
        content: dict[str, Any] = {"photo": [{
            "file_id": f"AgACAgIAAxkBbotphoto{next(self._message_ids)}",
            "file_unique_id": f"AQADbot{size}", "width": 800, "height": 800, "file_size": size,
        }], **caption}
        return self._bot_message(params, content, method="sendphoto", photo=data)

    async def _api_senddocument(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        data = _uploaded(params, files, "document")
        if data is None:
            raise ApiError(400, "Bad Request: there is no document in the request")
        caption = _caption(params)
        content: dict[str, Any] = {"document": {
            "file_id": f"BQACAgIAAxkBbotdoc{next(self._message_ids)}",
            "file_unique_id": f"AgADbotdoc{len(data)}", "file_size": len(data),
        }, **caption}
        return self._bot_message(params, content, method="senddocument", document=data)

    async def _api_editmessagetext(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        message = self._editable(params)
        text = str(params.get("text") or "")
        if not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        markup = params.get("reply_markup")
        inline = markup if isinstance(markup, dict) and "inline_keyboard" in markup else None
        if message.get("text") == text and message.get("reply_markup") == inline:
            raise ApiError(400, _NOT_MODIFIED)
        message["text"] = text
        return self._edited(message, inline, "editmessagetext", markup)

    async def _api_editmessagereplymarkup(
        self, params: dict[str, Any], files: dict[str, bytes]
    ) -> Any:
        message = self._editable(params)
        markup = params.get("reply_markup")
        inline = markup if isinstance(markup, dict) and "inline_keyboard" in markup else None
        if message.get("reply_markup") == inline:
            raise ApiError(400, _NOT_MODIFIED)
        return self._edited(message, inline, "editmessagereplymarkup", markup)

    async def _api_answercallbackquery(
        self, params: dict[str, Any], files: dict[str, bytes]
    ) -> Any:
        query_id = str(params.get("callback_query_id") or "")
        if query_id not in self._callbacks or self._callbacks[query_id]:
            raise ApiError(400, _QUERY_TOO_OLD)
        self._callbacks[query_id] = True
        return True

    async def _api_createforumtopic(
        self, params: dict[str, Any], files: dict[str, bytes]
    ) -> Any:
        chat = self._known_chat(params)
        if not chat.info.get("is_forum"):
            raise ApiError(400, "Bad Request: the chat is not a forum")
        name = str(params.get("name") or "")
        if not 1 <= len(name) <= 128:
            raise ApiError(400, "Bad Request: TOPIC_TITLE_EMPTY")
        chat_id = int(chat.info["id"])
        # The topic's id is the id of the service message that starts it.
        thread = next(self._message_ids)
        created = {
            "message_id": thread, "from": self.bot_user, "chat": dict(chat.info),
            "date": int(time.time()), "message_thread_id": thread, "is_topic_message": True,
            "forum_topic_created": {"name": name, "icon_color": 7322096},
        }
        self._topics[(chat_id, thread)] = created
        self._messages[(chat_id, thread)] = created
        chat.transcript.append(("bot", json.loads(json.dumps(created))))
        return {"message_thread_id": thread, "name": name, "icon_color": 7322096}

    async def _api_sendchataction(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        self._known_chat(params)
        return True

    async def _api_setmycommands(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        commands = params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise ApiError(400, "Bad Request: commands must be a list of at most 100 commands")
        for command in commands:
            name = str(command.get("command", ""))
            if not (1 <= len(name) <= 32) or name != name.lower() or name.startswith("/"):
                raise ApiError(400, f"Bad Request: BOT_COMMAND_INVALID: {name!r}")
            if not (1 <= len(str(command.get("description", ""))) <= 256):
                raise ApiError(400, "Bad Request: command description is empty or too long")
        self.commands[self._commands_key(params)] = commands
        return True

    async def _api_getmycommands(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        return self.commands.get(self._commands_key(params), [])

    async def _api_deletemycommands(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        self.commands.pop(self._commands_key(params), None)
        return True

    async def _api_setwebhook(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        url = str(params.get("url") or "")
        if url and not url.startswith(("https://", "http://127.0.0.1")):
            raise ApiError(400, "Bad Request: bad webhook: An HTTPS URL must be provided")
        self.webhook = {"url": url, "secret_token": params.get("secret_token")}
        if params.get("drop_pending_updates"):
            self._pending.clear()
        if url:
            self._start_pusher()
            for update in self._pending:
                self._push(update)
            self._pending.clear()
        return True

    async def _api_deletewebhook(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        self.webhook = {"url": "", "secret_token": None}
        if params.get("drop_pending_updates"):
            self._pending.clear()
        return True

    async def _api_getwebhookinfo(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        pending = len(self._pending) + (self._push_queue.qsize() if self._push_queue else 0)
        return {"url": self.webhook["url"], "has_custom_certificate": False,
                "pending_update_count": pending, "max_connections": 40}

    async def _api_close(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        return True

    async def _api_logout(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        return True

    # -- bookkeeping --------------------------------------------------------------------------

    def _chat(self, chat_id: int) -> _Chat:
        chat = self._chats.get(chat_id)
        if chat is None:
            raise AssertionError(f"chat {chat_id} is unknown: create its user first")
        return chat

    def _known_chat(self, params: dict[str, Any]) -> _Chat:
        chat_id = params.get("chat_id")
        chat = self._chats.get(chat_id) if isinstance(chat_id, int) else None
        if chat is None:
            raise ApiError(400, "Bad Request: chat not found")
        return chat

    def _user_message(
        self,
        user: dict[str, Any],
        content: dict[str, Any],
        *,
        chat: int | None = None,
        thread_id: int | None = None,
        reply_to: int | None = None,
    ) -> dict[str, Any]:
        where = self._chat(user["id"] if chat is None else chat)
        chat_id = int(where.info["id"])
        message: dict[str, Any] = {
            "message_id": next(self._message_ids), "from": user, "chat": dict(where.info),
            "date": int(time.time()), **content,
        }
        self._place(message, chat_id, thread_id, reply_to, allow_without_reply=False)
        self._messages[(chat_id, message["message_id"])] = message
        where.transcript.append(("user", message))
        self._enqueue({"message": message})
        return message

    def _place(
        self,
        message: dict[str, Any],
        chat_id: int,
        thread_id: int | None,
        reply_to: int | None,
        *,
        allow_without_reply: bool,
    ) -> None:
        """Put a new message in its forum topic and under the message it answers, as Telegram
        does: a message in a topic that answers nothing else replies to the topic's start."""
        info = self._chat(chat_id).info
        if thread_id is not None:
            if not info.get("is_forum") or (chat_id, thread_id) not in self._topics:
                raise ApiError(400, "Bad Request: message thread not found")
            message["message_thread_id"] = thread_id
            message["is_topic_message"] = True
        quoted: dict[str, Any] | None = None
        if reply_to is not None:
            quoted = self._messages.get((chat_id, reply_to))
            if quoted is None and not allow_without_reply:
                raise ApiError(400, "Bad Request: message to be replied not found")
            if quoted is not None and thread_id is None and quoted.get("is_topic_message"):
                # Answering a message of a topic puts the answer in that topic.
                message["message_thread_id"] = quoted["message_thread_id"]
                message["is_topic_message"] = True
        elif thread_id is not None:
            quoted = self._topics[(chat_id, thread_id)]
        if quoted is not None:
            # Telegram does not nest replies: the quoted message comes without its own.
            message["reply_to_message"] = {
                k: v for k, v in quoted.items() if k != "reply_to_message"
            }

    def _bot_message(
        self, params: dict[str, Any], content: dict[str, Any], *, method: str,
        photo: bytes | None = None,
        document: bytes | None = None,
    ) -> dict[str, Any]:
        chat = self._known_chat(params)
        markup = params.get("reply_markup")
        message: dict[str, Any] = {
            "message_id": next(self._message_ids), "from": self.bot_user,
            "chat": dict(chat.info), "date": int(time.time()), **content,
        }
        thread = params.get("message_thread_id")
        reply = params.get("reply_parameters")
        if thread is not None or reply:
            reply = reply if isinstance(reply, dict) else {}
            self._place(
                message,
                int(chat.info["id"]),
                int(thread) if thread is not None else None,
                int(reply["message_id"]) if "message_id" in reply else None,
                allow_without_reply=bool(reply.get("allow_sending_without_reply")),
            )
        # Telegram echoes only an inline keyboard; reply keyboards live in the client.
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            message["reply_markup"] = markup
        self._messages[(chat.info["id"], message["message_id"])] = message
        snapshot = json.loads(json.dumps(message))
        chat.transcript.append(("bot", snapshot))
        chat.outputs.append(BotOutput("send", method, snapshot, markup, photo, document))
        return message

    def _editable(self, params: dict[str, Any]) -> dict[str, Any]:
        if "inline_message_id" in params:
            raise ApiError(400, "Bad Request: MESSAGE_ID_INVALID")
        chat = self._known_chat(params)
        message_id = params.get("message_id")
        message = (
            self._messages.get((chat.info["id"], message_id))
            if isinstance(message_id, int) else None
        )
        if message is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        if message["from"]["id"] != self.bot_user["id"]:
            raise ApiError(400, "Bad Request: message can't be edited")
        return message

    def _edited(
        self, message: dict[str, Any], inline: dict[str, Any] | None, method: str,
        requested: Any,
    ) -> dict[str, Any]:
        # An edit that does not repeat the inline keyboard removes it, as Telegram does.
        if inline is None:
            message.pop("reply_markup", None)
        else:
            message["reply_markup"] = inline
        message["edit_date"] = int(time.time())
        chat = self._chats[message["chat"]["id"]]
        snapshot = json.loads(json.dumps(message))
        chat.transcript.append(("edit", snapshot))
        chat.outputs.append(BotOutput("edit", method, snapshot, requested))
        return message

    @staticmethod
    def _commands_key(params: dict[str, Any]) -> tuple[str, str]:
        scope = params.get("scope") or {}
        return str(scope.get("type", "default")), str(params.get("language_code") or "")

    def _enqueue(self, content: dict[str, Any]) -> None:
        update = {"update_id": next(self._update_ids), **content}
        kind = next(iter(content))
        if self._allowed_updates is not None and kind not in self._allowed_updates:
            logger.info("dropping a %s update: the bot did not ask for them", kind)
            return
        if self.webhook["url"]:
            self._push(update)
            return
        self._pending.append(update)
        task = asyncio.get_running_loop().create_task(self._notify())
        self._background.add(task)  # keep a reference, or the loop may drop the task
        task.add_done_callback(self._background.discard)

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def _wait(
        self, ready: Callable[[], bool], timeout: float, what: str  # noqa: ASYNC109
    ) -> None:
        async def until_ready() -> None:
            async with self._changed:
                await self._changed.wait_for(ready)

        try:
            await asyncio.wait_for(until_ready(), timeout)
        except TimeoutError:
            raise AssertionError(f"waited {timeout} s for {what}; it did not come") from None

    # -- webhook delivery ---------------------------------------------------------------------

    def _start_pusher(self) -> None:
        if self._pusher is None:
            self._push_queue = asyncio.Queue()
            self._pusher = asyncio.get_running_loop().create_task(self._push_loop())

    def _push(self, update: dict[str, Any]) -> None:
        assert self._push_queue is not None
        self._push_queue.put_nowait(update)

    async def _push_loop(self) -> None:
        """Delivers updates one at a time, like Telegram with max_connections=1."""
        assert self._push_queue is not None
        while not self._closing:
            update = await self._push_queue.get()
            status = await self.post_update(
                self.webhook["url"], update, secret=self.webhook["secret_token"], attempts=3
            )
            self.webhook_deliveries.append(status)
            async with self._changed:
                self._changed.notify_all()

    async def post_update(
        self, url: str, update: dict[str, Any], *, secret: str | None, attempts: int = 1
    ) -> int:
        """POST one update to a webhook the way Telegram does; the HTTP status it answered."""
        if self._client is None:
            self._client = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret else {}
        status = 0
        for attempt in range(attempts):
            try:
                async with self._client.post(url, json=update, headers=headers) as response:
                    status = response.status
                    if status < 500:
                        return status
            except aiohttp.ClientError as exc:
                logger.info("webhook delivery attempt %d failed: %s", attempt + 1, exc)
            await asyncio.sleep(0.2)
        return status

    def make_update(self, content: dict[str, Any]) -> dict[str, Any]:
        """An update with a fresh id that is not queued: for posting to a webhook by hand."""
        return {"update_id": next(self._update_ids), **content}

    def deliver(self, update: dict[str, Any]) -> None:
        """Deliver an update made with make_update, by push or getUpdates; delivering it again
        is what Telegram does with an update it thinks failed (the same update_id)."""
        if self.webhook["url"]:
            self._push(update)
            return
        self._pending.append(update)
        task = asyncio.get_running_loop().create_task(self._notify())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def new_message(self, user: dict[str, Any], text: str) -> dict[str, Any]:
        """A user message recorded in the chat but not delivered: pair with make_update."""
        chat = self._chat(user["id"])
        message: dict[str, Any] = {
            "message_id": next(self._message_ids), "from": user, "chat": dict(chat.info),
            "date": int(time.time()), "text": text,
        }
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            message["entities"] = [
                {"type": "bot_command", "offset": 0, "length": _utf16_len(command)},
            ]
        self._messages[(user["id"], message["message_id"])] = message
        chat.transcript.append(("user", message))
        return message


def _uploaded(params: dict[str, Any], files: dict[str, bytes], field: str) -> bytes | None:
    """The bytes uploaded for `field`: the multipart part its "attach://<name>" names, or the
    part named after the field itself (None for a file id or URL, or nothing at all)."""
    value = params.get(field)
    if isinstance(value, str) and value.startswith("attach://"):
        return files.get(value.removeprefix("attach://"))
    return files.get(field)


def _caption(params: dict[str, Any]) -> dict[str, str]:
    """The message's caption field (empty without one), refused past Telegram's 1024 limit."""
    caption = params.get("caption")
    if not caption:
        return {}
    if _utf16_len(str(caption)) > 1024:
        raise ApiError(400, "Bad Request: message caption is too long")
    return {"caption": str(caption)}


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


async def _read_params(request: web.Request) -> tuple[dict[str, Any], dict[str, bytes]]:
    """Parameters from the query string and a JSON, urlencoded or multipart body."""
    params: dict[str, Any] = dict(request.query)
    files: dict[str, bytes] = {}
    if request.method == "POST" and request.can_read_body:
        if request.content_type == "application/json":
            body = await request.json()
            if isinstance(body, dict):
                params.update(body)
        elif request.content_type == "multipart/form-data":
            reader = await request.multipart()
            async for part in reader:
                if part is None or isinstance(part, aiohttp.MultipartReader):
                    continue
                if part.filename is not None:
                    files[str(part.name)] = bytes(await part.read())
                else:
                    params[str(part.name)] = await part.text()
        else:
            form = await request.post()
            params.update({key: value for key, value in form.items() if isinstance(value, str)})
    return {key: _decode(key, value) for key, value in params.items()}, files


def _decode(key: str, value: Any) -> Any:
    if not isinstance(value, str):
        return value
    if key in _JSON_FIELDS:
        try:
            return json.loads(value)
        except ValueError:
            return value
    if key in _INT_FIELDS and value.lstrip("-").isdigit():
        return int(value)
    if key in _BOOL_FIELDS and value in ("true", "false", "True", "False"):
        return value.lower() == "true"
    return value


async def double_tap(
    standin: BotApiStandIn, user: dict[str, Any], message: BotOutput, data: str, *,
    count: int, done: str, again: str,
) -> list[BotOutput]:
    """The impatient second tap: `user` presses the button with `data` twice before any
    answer. Of the next `count` outputs in their chat, the one containing `done` is `message`
    edited in place, and one contains `again` (what the second tap gets); returns them all."""
    standin.press(user, message, data)
    standin.press(user, message, data)
    outputs = await standin.wait_for_messages(user["id"], count)
    first = find_output(outputs, done)
    assert first.kind == "edit" and first.message_id == message.message_id
    assert find_output(outputs, again)
    return outputs


def find_output(outputs: Iterable[BotOutput], fragment: str) -> BotOutput:
    """The first output whose text contains `fragment` (a test assertion when none does)."""
    outputs = list(outputs)
    for output in outputs:
        if fragment in output.text:
            return output
    raise AssertionError(f"no message contains {fragment!r}; got {[o.text for o in outputs]}")
