"""Pure decisions of the staff desk: who may work a ticket, topics, buttons, ticket numbers."""

from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from domain.shared.text import parse_id
from domain.staff.model import StaffMember

if TYPE_CHECKING:
    from domain.tickets.model import Ticket
    from domain.tickets.policy import TicketPolicy

SYSTEM = "system"


def staff_actor(staff: StaffMember) -> str:
    """How the audit names a staff member: by Telegram id, which `audit --staff` takes."""
    return f"staff:{staff.telegram_user_id}"


def member_actor(member_id: int) -> str:
    return f"member:{member_id}"


def topic_of(ticket_id: int) -> str:
    """The outbox topic that keeps a ticket's staff messages together."""
    return f"ticket:{ticket_id}"


def ticket_of_topic(topic: str | None) -> int | None:
    if topic and topic.startswith("ticket:"):
        return parse_id(topic[7:])
    return None


_NUMBER = re.compile(r"^#?\s*(?:t\s*-?\s*)?0*([0-9]{1,9})$", re.IGNORECASE)


def parse_ticket_number(text: str) -> int | None:
    """42 for "42", "#42", "T-000042" or "t42"; None for anything else."""
    found = _NUMBER.match(text.strip())
    return int(found.group(1)) if found and int(found.group(1)) > 0 else None


def sees_personal_data(staff: StaffMember, private_chat: bool) -> bool:
    """Full phone and birthday: managers and admins, and only where no one else reads along."""
    return private_chat and staff.is_manager_or_admin


def may_work(staff: StaffMember, ticket: Ticket) -> bool:
    return staff.may_work(ticket.assignee_id)


def local_time(moment: datetime | None, tz: str) -> str:
    return moment.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M") if moment else "-"


def card_buttons(ticket_id: int, policy: TicketPolicy) -> list[list[dict[str, str]]]:
    """Take, resolve, close, escalate; then the canned replies, two to a row."""
    rows = [
        [
            {"key": "desk.take_button", "data": f"tk:take:{ticket_id}"},
            {"key": "desk.resolve_button", "data": f"tk:res:{ticket_id}"},
        ],
        [
            {"key": "desk.close_button", "data": f"tk:close:{ticket_id}"},
            {"key": "desk.escalate_button", "data": f"tk:esc:{ticket_id}"},
        ],
    ]
    canned = [
        {"text": canned_label(reply.text(policy.staff_language)), "data": f"tk:cn:{ticket_id}:"
         f"{reply.key}"}
        for reply in policy.canned
    ]
    rows.extend(canned[i : i + 2] for i in range(0, len(canned), 2))
    return rows


def canned_label(text: str, width: int = 24) -> str:
    short = text if len(text) <= width else text[: width - 1].rstrip() + "…"
    return f"💬 {short}"
