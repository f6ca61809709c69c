"""The composition root: settings are read once here and every part is built and wired."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config import ConfigError, Settings
from bot.logs import quiet_libraries, redact_secret
from domain.callbacks import services as callbacks
from domain.callbacks.events import CallbackProblemReported
from domain.campaigns import services as campaigns
from domain.loyalty.events import ReceiptsBooked
from domain.loyalty.services import recompute_tiers
from domain.members.events import MarketingConsentChanged
from domain.privacy import services as privacy
from domain.privacy.events import ConsentWithdrawn, MembersMerged
from domain.segments import services as segments
from domain.segments.events import LifecycleChanged, MembersMoved, SegmentChanged
from domain.shared.clock import Clock, SystemClock
from domain.shared.events import EventBus
from domain.surveys import services as surveys
from domain.surveys.events import SurveyAnswered, SurveyCommented
from domain.tickets import services as tickets
from domain.tickets.events import RecoveryTicketOpened, TicketClosed, TicketResolved
from domain.tickets.model import Desk
from handlers.callbacks.member import router as callbacks_router
from handlers.callbacks.staff import router as calls_router
from handlers.campaigns.member import router as campaign_offers_router
from handlers.campaigns.staff import router as campaigns_router
from handlers.conversation.member import router as social_router
from handlers.coupons.member import router as coupons_router
from handlers.engine import Conversation
from handlers.i18n import Translator
from handlers.members.member import router as member_router
from handlers.privacy.member import router as privacy_router
from handlers.privacy.staff import router as privacy_staff_router
from handlers.routing import Deps, Router
from handlers.surveys.member import router as surveys_router
from handlers.tickets.member import router as complaints_router
from handlers.tickets.staff import router as staff_desk_router
from storage.engine import create_engine
from storage.migrate import upgrade
from storage.uow import SqlUnitOfWorkFactory

if TYPE_CHECKING:
    from bot.telegram.aiogram import AiogramMessenger
    from bot.telegram.ptb import PtbMessenger
    from domain.shared.policy import Policy
    from domain.shared.ports import UnitOfWork
    from scheduler.registry import JobContext
    from scheduler.sender import OutboxSender
    from scheduler.service import DeliveryService

log = logging.getLogger(__name__)


def feature_routers() -> list[Router]:
    """Every feature's conversation steps, in the order they are tried."""
    return [
        member_router, coupons_router, complaints_router, staff_desk_router, surveys_router,
        social_router, privacy_router, privacy_staff_router,
        campaign_offers_router, campaigns_router,
        callbacks_router, calls_router,
    ]


@dataclass
class App:
    """Everything a running retailbot needs, built once."""

    settings: Settings
    policy: Policy
    engine: AsyncEngine
    uow_factory: SqlUnitOfWorkFactory
    clock: Clock
    translator: Translator
    conversation: Conversation

    async def close(self) -> None:
        await self.engine.dispose()


async def build_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    policy: Policy | None = None,
    migrate: bool = True,
) -> App:
    """Build the app on `settings`; migrations run first so a new database just works."""
    policy = policy if policy is not None else settings.load_policy()
    # Before anything can log: no token, no SQL parameters, no updates' contents in any log.
    quiet_libraries()
    redact_secret(settings.bot_token)
    install_data_keys(settings)
    engine = create_engine(settings.database_url)
    if migrate:
        await upgrade(engine)
    bus = EventBus()
    uow_factory = SqlUnitOfWorkFactory(engine, bus)
    clock = clock or SystemClock()
    translator = Translator()
    deps = Deps(
        uow_factory=uow_factory,
        policy=policy,
        clock=clock,
        translator=translator,
        desk=Desk.from_settings(settings.staff_chat_id, settings.admin_ids),
    )
    conversation = Conversation(deps, feature_routers())
    app = App(settings, policy, engine, uow_factory, clock, translator, conversation)
    wire_events(bus, app)
    return app


def install_data_keys(settings: Settings) -> None:
    """Encrypt members' phones, names and birthdays at rest when RETAILBOT_DATA_KEY is set."""
    from storage.protection import DataKeyError, install

    try:
        install(settings.data_key, settings.old_data_keys)
    except DataKeyError as exc:
        raise ConfigError(str(exc)) from exc


def wire_events(bus: EventBus, app: App) -> None:
    """Which feature reacts to which other feature's events, in the same transaction.

    Handlers read the policy and the desk when they run, so what is swapped on the running app
    (tests, a future reload) is what they apply.
    """

    def desk() -> Desk:
        return app.conversation.deps.desk

    async def ticket_closed(uow: UnitOfWork, event: TicketClosed) -> None:
        await surveys.when_ticket_closed(uow, event, policy=app.policy)

    async def survey_answered(uow: UnitOfWork, event: SurveyAnswered) -> None:
        await tickets.when_survey_answered(uow, event, policy=app.policy, desk=desk())

    async def survey_commented(uow: UnitOfWork, event: SurveyCommented) -> None:
        await tickets.when_survey_commented(uow, event, policy=app.policy, desk=desk())

    bus.subscribe(TicketClosed, ticket_closed)
    bus.subscribe(RecoveryTicketOpened, surveys.when_recovery_ticket_opened)
    bus.subscribe(SurveyAnswered, survey_answered)
    bus.subscribe(SurveyCommented, survey_commented)

    async def consent_changed(uow: UnitOfWork, event: MarketingConsentChanged) -> None:
        await privacy.when_marketing_consent_changed(uow, event, policy=app.policy)

    async def members_merged(uow: UnitOfWork, event: MembersMerged) -> None:
        # The kept member's receipts now include the other's: their tier follows.
        await recompute_tiers(uow, app.policy, [event.kept_id], event.at)

    bus.subscribe(MarketingConsentChanged, consent_changed)
    bus.subscribe(MembersMerged, members_merged)

    # Purchase statistics follow every booking (import chunk or till), in its transaction.
    bus.subscribe(ReceiptsBooked, segments.on_receipts_booked)
    bus.subscribe(ConsentWithdrawn, segments.when_consent_withdrawn)

    # Campaigns triggered by a segment move reach the member in the refresh's transaction.
    async def lifecycle_changed(uow: UnitOfWork, event: LifecycleChanged) -> None:
        await campaigns.when_lifecycle_changed(uow, event, policy=app.policy)

    async def segment_changed(uow: UnitOfWork, event: SegmentChanged) -> None:
        await campaigns.when_segment_changed(uow, event, policy=app.policy)

    async def members_moved(uow: UnitOfWork, event: MembersMoved) -> None:
        await campaigns.when_members_moved(uow, event, policy=app.policy)

    bus.subscribe(LifecycleChanged, lifecycle_changed)
    bus.subscribe(SegmentChanged, segment_changed)
    bus.subscribe(MembersMoved, members_moved)  # a refresh's slice: the moves in bulk

    # Callbacks: a resolved ticket and a valuable member going quiet are called back; a problem
    # a member reports to a callback becomes a ticket at the desk.
    async def ticket_resolved(uow: UnitOfWork, event: TicketResolved) -> None:
        await callbacks.when_ticket_resolved(uow, event, policy=app.policy)

    async def gone_quiet(uow: UnitOfWork, event: LifecycleChanged) -> None:
        await callbacks.when_lifecycle_changed(uow, event, policy=app.policy)

    async def callback_problem(uow: UnitOfWork, event: CallbackProblemReported) -> None:
        await tickets.when_callback_problem_reported(uow, event, policy=app.policy, desk=desk())

    async def slice_gone_quiet(uow: UnitOfWork, event: MembersMoved) -> None:
        await callbacks.when_lifecycles_changed(uow, event.lifecycles, policy=app.policy)

    bus.subscribe(TicketResolved, ticket_resolved)
    bus.subscribe(LifecycleChanged, gone_quiet)
    bus.subscribe(MembersMoved, slice_gone_quiet)
    bus.subscribe(CallbackProblemReported, callback_problem)


# -- delivery: the messenger, the sender, the scheduler ---------------------------------------


def build_messenger(settings: Settings) -> AiogramMessenger | PtbMessenger:
    """The outbox's Messenger on the configured engine (the same Bot API server as replies)."""
    if not settings.bot_token:
        raise ConfigError("sending messages needs BOT_TOKEN (create a bot with @BotFather)")
    if settings.bot_engine == "ptb":
        from bot.telegram.ptb import PtbMessenger

        return PtbMessenger.from_settings(settings)
    from bot.telegram.aiogram import AiogramMessenger

    return AiogramMessenger.from_settings(settings)


def build_sender(app: App, messenger: Any, **options: Any) -> OutboxSender:
    from scheduler.sender import OutboxSender

    return OutboxSender(
        app.uow_factory, messenger, app.policy, app.clock, app.translator, **options
    )


def job_context(app: App, sender: OutboxSender | None = None) -> JobContext:
    from bot.charts import MatplotlibCharts  # matplotlib loads only for the jobs
    from scheduler.registry import JobContext

    return JobContext(
        app.uow_factory,
        app.policy,
        app.clock,
        sender,
        app.conversation.deps.desk,
        charts=MatplotlibCharts(),
    )


def build_delivery(app: App, sender: OutboxSender | None) -> DeliveryService:
    """The scheduler and sender service; it runs them only while this process leads."""
    from scheduler.service import DeliveryService
    from storage.jobs.scheduling import jobstore_engine_options, leadership_for, sync_url

    url = app.settings.database_url
    return DeliveryService(
        job_context(app, sender),
        jobstore_url=sync_url(url),
        engine_options=jobstore_engine_options(url),
        leadership=leadership_for(app.engine),
        sender=sender,
    )
