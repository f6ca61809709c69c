"""The member's side: start and link by phone, join, points, profile, language, stop, help."""

from __future__ import annotations

import logging
from datetime import date
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from domain.loyalty.model import PointsBalance
from domain.loyalty.views import points_summary, summary_if_nothing_due
from domain.members import services as membership
from domain.members.model import LANGUAGES, Member
from domain.members.rules import is_skip, read_yes_no
from domain.shared.errors import DomainError, InvalidInput, InvalidPhone
from domain.shared.phones import mask_phone, normalize_phone
from handlers.campaigns.member import remember_referral
from handlers.i18n import money
from handlers.routing import Context, Router, buttons, reply, say
from handlers.types import Button, InboundKind, Keyboard, Outcome, Reply

if TYPE_CHECKING:
    from domain.shared.ports import UnitOfWork

log = logging.getLogger(__name__)
router = Router()

AWAIT_CONTACT = "await_contact"
JOIN_OFFER = "join_offer"
JOIN_NAME = "join_name"
JOIN_BIRTHDAY = "join_birthday"
JOIN_CONSENT = "join_consent"
PROFILE_NAME = "profile_name"
PROFILE_BIRTHDAY = "profile_birthday"

POINTS_PHRASES = (
    "points", "my points", "point balance", "balance", "how many points", "how many points left",
    "check my points", "my points balance", "reward points", "my reward points",
    "loyalty points", "points total", "what tier am i", "my tier", "my level", "member tier",
    "do my points expire soon", "points expiring",
    "积分", "我的积分", "查积分", "积分余额", "余额", "积分查询", "查询积分", "还有多少积分",
    "多少积分", "多少分", "剩多少分", "还剩几分", "积分还剩多少", "会员积分", "会员等级", "等级",
    "我是什么等级", "积分快过期了吗", "查分",
)
HELP_PHRASES = (
    "help", "menu", "what can you do", "how does this bot work", "what can i ask you",
    "options", "i need help", "main menu", "how to use this", "what are the commands",
    "帮助", "菜单", "你能做什么", "怎么用", "有什么功能", "帮忙", "功能", "使用帮助", "能干什么",
    "怎么操作", "主菜单",
)
PROFILE_PHRASES = (
    "profile", "my profile", "my details", "personal info", "personal details", "edit profile",
    "account details", "my account", "change my name", "update my birthday", "set my birthday",
    "my member number", "membership number", "my card number",
    "个人资料", "我的资料", "个人信息", "我的信息", "修改名字", "改名", "修改生日", "改生日",
    "设置生日", "会员号", "我的会员号", "会员卡号", "账户信息", "查看资料",
)
LANGUAGE_PHRASES = (
    "language", "change language", "switch language", "language settings", "english",
    "speak english", "speak chinese", "in chinese please", "chinese", "中文",
    "语言", "切换语言", "语言设置", "换成英文", "说英文", "说中文", "用中文", "改成英文", "英文版",
)


def ask_for_contact(key: str = "link.ask_contact") -> Outcome:
    """The share-my-phone button; only the user's own contact is accepted."""
    return Outcome((Reply(key, keyboard=Keyboard.REQUEST_CONTACT),), next_state=AWAIT_CONTACT)


@router.command("start", description_key="command.start")
async def start(ctx: Context) -> Outcome:
    """/start, or /start store_<code> from the QR code in a store."""
    if not ctx.inbound.is_private:
        return say("chat.private_only")  # linking asks for a phone: never in a group
    payload = ctx.inbound.payload.strip()
    if payload.lower().startswith("store_"):
        await _remember_store(ctx, payload[len("store_") :])
    if payload.lower().startswith("ref_"):
        await remember_referral(ctx, payload[len("ref_") :])
    if ctx.member is not None:
        return Outcome((reply("start.welcome_back", name=ctx.member.name), menu_reply()))
    return Outcome(
        (
            reply("start.welcome", chain=ctx.deps.policy.chain_name),
            Reply("link.ask_contact", keyboard=Keyboard.REQUEST_CONTACT),
        ),
        next_state=AWAIT_CONTACT,
    )


async def _remember_store(ctx: Context, code: str) -> None:
    async with ctx.deps.uow_factory() as uow:
        store = await uow.stores.get_by_code(code.upper())
        if store is None:
            log.info("deep link names unknown store code %r", code[:32])
            return
        ctx.chat_user.source_store_code = store.code
        await uow.chat_users.save(ctx.chat_user)
        await uow.commit()


@router.state("contact")
@router.state(AWAIT_CONTACT)
async def receive_contact(ctx: Context) -> Outcome:
    """A shared contact links the account; typed numbers are refused (they prove nothing)."""
    inbound = ctx.inbound
    if inbound.kind is not InboundKind.CONTACT:
        if inbound.kind is InboundKind.TEXT and ctx.member is None:
            # A typed number proves nothing: only the button shares the user's own phone.
            return ask_for_contact("link.use_button")
        return Outcome((Reply("other.unsupported"),))
    if inbound.contact_user_id != inbound.user_id:
        log.info("refused a contact that is not the sender's own")
        return Outcome(
            (Reply("link.not_own_contact", keyboard=Keyboard.REQUEST_CONTACT),),
            next_state=AWAIT_CONTACT,
        )
    try:
        phone = normalize_phone(inbound.payload, ctx.deps.policy.default_region)
    except InvalidPhone:
        return Outcome((Reply("error.invalid_phone", keyboard=Keyboard.REQUEST_CONTACT),))
    if ctx.member is not None:
        if ctx.member.phone == phone:
            return Outcome(
                (Reply("link.already", {"name": ctx.member.name}, keyboard=Keyboard.REMOVE),),
                next_state="",
            )
        return Outcome((Reply("link.other_account", keyboard=Keyboard.REMOVE),), next_state="")
    async with ctx.deps.uow_factory() as uow:
        member = await membership.link_by_phone(uow, ctx.chat_user, phone)
        await uow.commit()
    if member is None:
        log.info("no member has phone %s; offering to join", mask_phone(phone))
        return Outcome(
            (
                Reply("link.no_match", keyboard=Keyboard.REMOVE),
                _join_offer_reply(),
            ),
            next_state=JOIN_OFFER,
            state_data={"phone": phone},
        )
    ctx.member = member
    log.info("chat account linked to member %s", member.member_no)
    return Outcome(
        (
            Reply(
                "link.linked",
                {"name": member.name, "member_no": member.member_no},
                keyboard=Keyboard.REMOVE,
            ),
            menu_reply(),
        ),
        next_state="",
    )


@router.button("join")
async def join_button(ctx: Context) -> Outcome:
    """Buttons of the join flow: yes/no, skip birthday, consent."""
    action = ctx.inbound.payload.split(":")[1:]
    state = ctx.chat_user.state
    if ctx.member is not None:
        return say("join.already_member", name=ctx.member.name)
    if action == ["yes"] and state == JOIN_OFFER:
        return say("join.ask_name", state=JOIN_NAME, data=dict(ctx.data))
    if action == ["no"] and state == JOIN_OFFER:
        return say("join.declined", state="", data={})
    if action == ["skipbd"] and state == JOIN_BIRTHDAY:
        return _ask_consent(ctx, birthday=None)
    if action[:1] == ["consent"] and len(action) == 2 and state == JOIN_CONSENT:
        return await _enrol(ctx, consent=action[1] == "y")
    return say("button.expired")


def _join_offer_reply() -> Reply:
    return Reply(
        "join.offer",
        buttons=buttons(
            [Button("join.yes_button", "join:yes"), Button("join.no_button", "join:no")]
        ),
    )


@router.state(JOIN_OFFER)
async def join_offer_text(ctx: Context) -> Outcome:
    """A typed yes or no (是, 好, no...) answers the offer as the buttons would."""
    answer = read_yes_no(ctx.inbound.payload) if ctx.inbound.kind is InboundKind.TEXT else None
    if answer is True:
        return say("join.ask_name", state=JOIN_NAME, data=dict(ctx.data))
    if answer is False:
        return say("join.declined", state="", data={})
    return Outcome((Reply("join.use_buttons"),))


@router.state(JOIN_NAME)
async def join_name(ctx: Context) -> Outcome:
    if ctx.inbound.kind is not InboundKind.TEXT:
        return say("join.ask_name")
    try:
        name = membership.clean_name(ctx.inbound.payload)
    except InvalidInput as exc:
        return Outcome((Reply(exc.key, exc.params),))
    return Outcome(
        (_birthday_question("join.ask_birthday", name),),
        next_state=JOIN_BIRTHDAY,
        state_data={**ctx.data, "name": name},
    )


def _birthday_question(key: str, name: str) -> Reply:
    """The birthday question (or the bad-date answer), always with the Skip button."""
    return Reply(
        key, {"name": name}, buttons=buttons([Button("join.skip_birthday_button", "join:skipbd")])
    )


@router.state(JOIN_BIRTHDAY)
async def join_birthday(ctx: Context) -> Outcome:
    """A birthday in any usual form (1999-02-03, 1999/2/3, 1999年2月3日), or skip / 跳过."""
    name = str(ctx.data.get("name", ""))
    if ctx.inbound.kind is not InboundKind.TEXT:
        return Outcome((_birthday_question("join.bad_birthday", name),))
    if is_skip(ctx.inbound.payload):
        return _ask_consent(ctx, birthday=None)
    try:
        birthday = membership.parse_birthday(ctx.inbound.payload, ctx.now.date())
    except InvalidInput as exc:
        return Outcome((_birthday_question(exc.key, name),))
    return _ask_consent(ctx, birthday=birthday.isoformat())


def _consent_question() -> Reply:
    return Reply(
        "join.ask_consent",
        buttons=buttons(
            [Button("join.consent_yes_button", "join:consent:y")],
            [Button("join.consent_no_button", "join:consent:n")],
        ),
    )


def _ask_consent(ctx: Context, birthday: str | None) -> Outcome:
    return Outcome(
        (_consent_question(),),
        next_state=JOIN_CONSENT,
        state_data={**ctx.data, "birthday": birthday},
    )


@router.state(JOIN_CONSENT)
async def join_consent_text(ctx: Context) -> Outcome:
    """A typed yes or no answers the consent question as the buttons would."""
    answer = read_yes_no(ctx.inbound.payload) if ctx.inbound.kind is InboundKind.TEXT else None
    if answer is None:
        return Outcome((Reply("join.use_buttons"),))
    return await _enrol(ctx, consent=answer)


@router.resume(JOIN_OFFER, JOIN_NAME, JOIN_BIRTHDAY, JOIN_CONSENT)
async def join_resume(ctx: Context) -> Outcome:
    """After a command sent while joining: what was given is kept; ask the open question."""
    state, name = ctx.chat_user.state, str(ctx.data.get("name", ""))
    if state == JOIN_OFFER:
        return Outcome((_join_offer_reply(),))
    if state == JOIN_NAME:
        return say("join.ask_name")
    if state == JOIN_BIRTHDAY:
        return Outcome((Reply("join.resumed"), _birthday_question("join.ask_birthday", name)))
    return Outcome((Reply("join.resumed"), _consent_question()))


async def _enrol(ctx: Context, consent: bool) -> Outcome:
    data = ctx.data
    if "phone" not in data or "name" not in data:
        return say("button.expired", state="", data={})
    async with ctx.deps.uow_factory() as uow:
        member = await membership.enrol_member(
            uow,
            ctx.chat_user,
            name=data["name"],
            phone=data["phone"],
            birthday=date.fromisoformat(data["birthday"]) if data.get("birthday") else None,
            marketing_consent=consent,
            now=ctx.now,
        )
        await uow.commit()
    ctx.member = member
    log.info("new member %s joined in the chat", member.member_no)
    return Outcome(
        (reply("join.welcome", name=member.name, member_no=member.member_no), menu_reply()),
        next_state="",
        state_data={},
    )


async def _balance(uow: UnitOfWork, member: Member) -> PointsBalance | None:
    """/points' preload: the member's balance, read with who is talking (routing.Preload)."""
    return await uow.ledger.summary(member.id) if member.id is not None else None


@router.command("points", description_key="command.points", member_only=True, preload=_balance)
@router.intent("points", POINTS_PHRASES, member_only=True)
async def points(ctx: Context) -> Outcome:
    """Balance, tier, progress to the next tier, what expires soon, the last 5 entries."""
    assert ctx.member is not None and ctx.member.id is not None
    balance = ctx.preloaded
    summary = (
        summary_if_nothing_due(balance, ctx.member, ctx.deps.policy, ctx.now)
        if isinstance(balance, PointsBalance)
        else None
    )
    if summary is None:  # no balance read with who is talking, or an expiry to book
        async with ctx.deps.uow_factory() as uow:
            summary = await points_summary(
                uow, ctx.deps.policy, ctx.member.id, ctx.now, member=ctx.member
            )
            await uow.commit()  # due expirations (and a first summary) are booked on the way
    lang = ctx.lang
    lines = [
        ctx.t(
            "points.entry",
            date=e.occurred_at.astimezone(_tz(ctx)).strftime("%Y-%m-%d"),
            kind=ctx.t(f"points.kind.{e.kind.value}"),
            points=f"{e.points:+d}",
        )
        for e in summary.recent
    ]
    if summary.next_tier is not None:
        progress = ctx.t(
            "points.progress",
            amount=money(lang, summary.to_next_tier, ctx.deps.policy.currency),
            tier=summary.next_tier.name(lang),
        )
    else:
        progress = ctx.t("points.top_tier")
    expiring = (
        ctx.t("points.expiring", points=summary.expiring_soon, days=summary.expiring_days)
        if summary.expiring_soon
        else ctx.t("points.nothing_expiring", days=summary.expiring_days)
    )
    return say(
        "points.summary",
        balance=summary.balance,
        tier=summary.tier.name(lang),
        progress=progress,
        expiring=expiring,
        recent="\n".join(lines) if lines else ctx.t("points.no_entries"),
    )


def _tz(ctx: Context) -> ZoneInfo:
    return ZoneInfo(ctx.deps.policy.timezone)


@router.command("profile", description_key="command.profile", member_only=True)
@router.intent("profile", PROFILE_PHRASES, member_only=True)
async def profile(ctx: Context) -> Outcome:
    """Name, birthday, language and consent, with buttons to change them."""
    member = ctx.member
    assert member is not None
    row: list[Button] = [Button("profile.edit_name_button", "prof:name")]
    if member.birthday is None:
        row.append(Button("profile.set_birthday_button", "prof:bday"))
    consent_button = (
        Button("profile.consent_off_button", "prof:consent:n")
        if member.marketing_consent
        else Button("profile.consent_on_button", "prof:consent:y")
    )
    return Outcome(
        (
            Reply(
                "profile.show",
                {
                    "name": member.name,
                    "member_no": member.member_no,
                    "phone": mask_phone(member.phone or ""),
                    "birthday": member.birthday.isoformat()
                    if member.birthday
                    else ctx.t("profile.not_set"),
                    "language": ctx.t(f"language.name.{ctx.lang}"),
                    "consent": ctx.t(
                        "profile.consent_yes" if member.marketing_consent else "profile.consent_no"
                    ),
                },
                buttons=buttons(
                    row, [Button("profile.language_button", "lang:menu")], [consent_button]
                ),
            ),
        )
    )


@router.button("prof", member_only=True)
async def profile_button(ctx: Context) -> Outcome:
    assert ctx.member is not None and ctx.member.id is not None
    action = ctx.inbound.payload.split(":")[1:]
    if action == ["name"]:
        return say("profile.ask_name", state=PROFILE_NAME)
    if action == ["bday"]:
        if ctx.member.birthday is not None:
            return say("profile.birthday_locked")
        return say("profile.ask_birthday", state=PROFILE_BIRTHDAY)
    if action[:1] == ["consent"] and len(action) == 2 and action[1] in ("y", "n"):
        async with ctx.deps.uow_factory() as uow:
            await membership.set_marketing_consent(uow, ctx.member.id, action[1] == "y", ctx.now)
            await uow.commit()
        return say("profile.consent_on" if action[1] == "y" else "stop.done")
    return say("button.expired")


@router.state(PROFILE_NAME)
async def profile_name(ctx: Context) -> Outcome:
    assert ctx.member is not None and ctx.member.id is not None
    if ctx.inbound.kind is not InboundKind.TEXT:
        return say("profile.ask_name")
    async with ctx.deps.uow_factory() as uow:
        member = await membership.rename_member(uow, ctx.member.id, ctx.inbound.payload)
        await uow.commit()
    return say("profile.name_saved", state="", name=member.name)


@router.state(PROFILE_BIRTHDAY)
async def profile_birthday(ctx: Context) -> Outcome:
    assert ctx.member is not None and ctx.member.id is not None
    if ctx.inbound.kind is not InboundKind.TEXT:
        return say("join.bad_birthday")
    birthday = membership.parse_birthday(ctx.inbound.payload, ctx.now.date())
    async with ctx.deps.uow_factory() as uow:
        await membership.set_birthday(uow, ctx.member.id, birthday)
        await uow.commit()
    return say("profile.birthday_saved", state="", birthday=birthday.isoformat())


@router.command("language", description_key="command.language")
@router.intent("language", LANGUAGE_PHRASES)
async def language(ctx: Context) -> Outcome:
    return Outcome((language_menu(),))


def language_menu() -> Reply:
    return Reply(
        "language.choose",
        buttons=buttons(
            [Button("language.name.zh", "lang:zh"), Button("language.name.en", "lang:en")]
        ),
    )


@router.button("lang")
async def language_button(ctx: Context) -> Outcome:
    choice = ctx.inbound.payload.split(":", 1)[1] if ":" in ctx.inbound.payload else ""
    if choice == "menu":
        return Outcome((language_menu(),))
    if choice not in LANGUAGES:
        return say("button.expired")
    async with ctx.deps.uow_factory() as uow:
        await membership.set_language(uow, ctx.chat_user, choice)
        await uow.commit()
    return Outcome((Reply("language.changed", edit=True),))


@router.command("stop", description_key="command.stop")
async def stop(ctx: Context) -> Outcome:
    """Withdraw marketing consent at once; service messages still reach the member."""
    if ctx.member is None or ctx.member.id is None:
        return say("stop.not_member")
    async with ctx.deps.uow_factory() as uow:
        await membership.set_marketing_consent(
            uow, ctx.member.id, False, ctx.now, source="stop"
        )
        await uow.commit()
    log.info("member %s withdrew marketing consent", ctx.member.member_no)
    return say("stop.done")


@router.command("help", "menu", description_key="command.help")
@router.intent("help", HELP_PHRASES)
async def help_(ctx: Context) -> Outcome:
    if ctx.member is None and not ctx.paused_state:  # while joining, the phone is known
        return Outcome(
            (reply("help.text"), Reply("link.ask_contact", keyboard=Keyboard.REQUEST_CONTACT)),
            next_state=AWAIT_CONTACT,
        )
    return Outcome((menu_reply(),))


@router.command("cancel", description_key="command.cancel")
async def cancel(ctx: Context) -> Outcome:
    return Outcome((Reply("cancel.done", keyboard=Keyboard.REMOVE),), next_state="")


def menu_reply() -> Reply:
    return Reply("help.text")


__all__ = ["router", "ask_for_contact", "menu_reply", "DomainError"]
