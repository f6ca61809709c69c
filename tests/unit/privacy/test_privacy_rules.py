"""Privacy rules without a database: which consent survives a merge, who looks like whom, and
the [privacy] section of the policy."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from domain.privacy.model import Consent, ConsentSource, MemberFacts, Purpose
from domain.privacy.policy import privacy_policy_from_mapping
from domain.privacy.rules import (
    find_duplicates,
    most_restrictive,
    name_similarity,
    normal_name,
    score_pair,
)
from domain.shared.errors import PolicyError

AT = datetime(2026, 6, 15, tzinfo=UTC)


def consent(purpose: Purpose, granted: bool) -> Consent:
    return Consent(purpose, granted, ConsentSource.CHAT, AT)


def facts(id: int, name: str, *, phone: str | None = None, md: int | None = None,
          year: int | None = None, store: int | None = None) -> MemberFacts:
    return MemberFacts(id, f"M{id:04d}", name, phone, md, year, store)


def test_a_merged_member_gets_marketing_only_when_both_registrations_agreed() -> None:
    yes, no = consent(Purpose.MARKETING, True), consent(Purpose.MARKETING, False)
    assert most_restrictive(yes, yes, Purpose.MARKETING)
    assert not most_restrictive(yes, no, Purpose.MARKETING)
    assert not most_restrictive(yes, None, Purpose.MARKETING)


def test_a_no_to_surveys_on_either_registration_survives_the_merge() -> None:
    no = consent(Purpose.SURVEYS, False)
    assert not most_restrictive(None, no, Purpose.SURVEYS)
    assert most_restrictive(None, None, Purpose.SURVEYS)


def test_names_compare_without_case_spaces_or_full_width_forms() -> None:
    assert normal_name("Wang  Fang") == normal_name("ＷＡＮＧ　ＦＡＮＧ") == "wangfang"
    assert name_similarity("Fang Wang", "Wang Fang") == 100
    assert name_similarity("王芳", "王芳") == 100
    assert name_similarity("王小芳", "王晓芳") >= 60


def test_the_same_phone_is_the_same_person() -> None:
    pair = score_pair(facts(1, "Li Lei", phone="+8613800000001"),
                      facts(2, "Lei Li", phone="+8613800000001"))
    assert pair is not None and pair.score == 100
    assert "same phone" in pair.evidence


def test_the_same_name_and_birthday_at_different_stores_is_likely_one_person() -> None:
    pair = score_pair(facts(1, "张伟", md=714, year=1988, store=1),
                      facts(2, "张伟", md=714, year=1988, store=2))
    assert pair is not None and pair.score == 90


def test_a_close_chinese_name_alone_at_one_store_is_not_enough() -> None:
    assert score_pair(facts(1, "王小芳", store=1), facts(2, "王晓芳", store=1)) is None


def test_one_wrong_character_in_a_chinese_name_at_one_store_with_a_birthday_is_listed() -> None:
    pair = score_pair(facts(1, "王小芳", md=301, store=1), facts(2, "王晓芳", md=301, store=1))
    assert pair is not None and pair.score >= 60
    other_surname = facts(2, "李晓芳", md=301, store=1)
    assert score_pair(facts(1, "王小芳", md=301, store=1), other_surname) is None


def test_a_close_name_at_one_store_with_the_same_birthday_is_listed_with_its_evidence() -> None:
    pair = score_pair(facts(1, "Zhou Xiaoyu", md=714, store=3),
                      facts(2, "Zhou Xiaoyo", md=714, store=3))
    assert pair is not None
    assert pair.evidence[0].startswith("close names")
    assert "same home store" in pair.evidence and "same birthday" in pair.evidence
    assert 60 <= pair.score < 90


def test_duplicates_are_found_in_blocks_and_listed_best_first() -> None:
    members = [
        facts(1, "Li Lei", phone="+8613800000001", store=1),
        facts(2, "Li Lei", phone="+8613800000001", store=2),
        facts(3, "张伟", md=714, year=1988, store=1),
        facts(4, "张伟", md=714, year=1988, store=2),
        facts(5, "Somebody Else", md=101, store=1),
    ]
    pairs = find_duplicates(members, min_score=60)
    assert [(p.first.id, p.second.id, p.score) for p in pairs] == [(1, 2, 100), (3, 4, 90)]
    assert find_duplicates(members, min_score=95) == pairs[:1]


def test_the_privacy_section_has_written_down_defaults_and_names_a_wrong_key() -> None:
    policy = privacy_policy_from_mapping({})
    assert policy.erase_cooling_off_days == 7
    assert policy.retention.ticket_texts_months == 24
    assert policy.retention.outbox_texts_months == 6
    assert privacy_policy_from_mapping({"chat_states_months": 0}).retention.chat_states_months == 0
    with pytest.raises(PolicyError, match="privacy.erase_cooling_off_days"):
        privacy_policy_from_mapping({"erase_cooling_off_days": -1})
