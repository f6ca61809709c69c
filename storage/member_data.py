"""Every feature's part of a member's footprint, in one list: the one place that knows every
table referring to a member (the coverage test holds it to the schema)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.shared.member_data import MemberData
from storage.callbacks.member_data import SqlCallbacksData
from storage.campaigns.member_data import SqlCampaignsData
from storage.coupons.member_data import SqlCouponsData
from storage.loyalty.member_data import SqlLoyaltyData
from storage.members.member_data import SqlMembersData
from storage.messaging.member_data import SqlMessagingData
from storage.privacy.member_data import SqlPrivacyData
from storage.segments.member_data import SqlSegmentsData
from storage.surveys.member_data import SqlSurveysData
from storage.tickets.member_data import SqlTicketsData

# In the order erase and reassign run. Members last: its erase deletes the chat accounts, and
# the outbox finds the messages sent to the member's chats through them first.
MEMBER_DATA = (
    SqlLoyaltyData,
    SqlCouponsData,
    SqlMessagingData,
    SqlTicketsData,
    SqlSurveysData,
    SqlSegmentsData,
    SqlCallbacksData,
    SqlCampaignsData,
    SqlPrivacyData,
    SqlMembersData,
)

# A column names a member when it has a foreign key to members.id, or when its name says so
# (`member_id`, `kept_member_id`, `referrer_id`...) even without a foreign key.
MEMBER_COLUMN_NAME = re.compile(r"(^|_)member_id$|^referr")


def member_data_for(conn: AsyncConnection) -> list[MemberData]:
    """Every feature's MemberData on `conn`, inside the caller's transaction."""
    return [part(conn) for part in MEMBER_DATA]


def declared_columns(parts: Iterable[type[MemberData] | MemberData] = MEMBER_DATA) -> set[
    tuple[str, str]
]:
    """(table, column) pairs some feature's MemberData declares as naming a member."""
    return {
        (table, column)
        for part in parts
        for table, columns in part.tables.items()
        for column in columns
    }


def member_columns(metadata: MetaData) -> set[tuple[str, str]]:
    """(table, column) pairs of the schema that name a member: a foreign key to members.id or
    a member-like name."""
    found = set()
    for table in metadata.tables.values():
        for column in table.columns:
            to_members = any(fk.target_fullname == "members.id" for fk in column.foreign_keys)
            if to_members or MEMBER_COLUMN_NAME.search(column.name):
                found.add((table.name, column.name))
    return found


def uncovered_columns(
    metadata: MetaData, parts: Iterable[type[MemberData] | MemberData] = MEMBER_DATA
) -> list[str]:
    """`table.column` of every column naming a member that no MemberData declares, sorted."""
    missing = member_columns(metadata) - declared_columns(parts)
    return sorted(f"{table}.{column}" for table, column in missing)
