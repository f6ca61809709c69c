"""Greetings, thanks and small talk: answered kindly, never taken for a request or a complaint.

They are intents like any other, so the matcher weighs them against the features: "thanks"
is answered, not filed into an open complaint, and "hi" does not open the points screen.
"""

from __future__ import annotations

from handlers.routing import Context, Router, say
from handlers.types import Outcome

router = Router()

GREETING_PHRASES = (
    "hi", "hello", "hey", "hey there", "hi there", "good morning", "good afternoon",
    "good evening", "hello bot", "hiya", "yo", "greetings", "morning",
    "你好", "您好", "嗨", "哈喽", "哈啰", "在吗", "在不在", "早上好", "早", "早安", "下午好",
    "晚上好", "有人吗", "你好啊",
)
THANKS_PHRASES = (
    "thanks", "thank you", "thx", "thanks a lot", "cheers", "many thanks", "thank u", "tks",
    "much appreciated", "great thanks", "ok thanks",
    "谢谢", "多谢", "谢啦", "感谢", "3q", "谢谢啦", "感谢感谢", "好的谢谢", "辛苦了", "太感谢了",
)
SMALLTALK_PHRASES = (
    "ok", "okay", "okay got it", "got it", "i see", "alright", "fine", "sure", "cool", "nice",
    "great", "good", "bye", "bye bye", "goodbye", "see you", "see ya", "are you a robot",
    "are you human", "who are you", "how are you", "lol", "haha", "understood", "no problem",
    "never mind", "nothing",
    "好", "好的", "好吧", "行", "可以", "知道了", "明白", "明白了", "了解", "收到", "嗯", "嗯嗯",
    "哦", "拜拜", "再见", "你是机器人吗", "你是真人吗", "你是谁", "哈哈", "哈哈哈", "没事",
    "没事了", "没问题", "不用了", "你好吗",
)


@router.intent("greeting", GREETING_PHRASES)
async def greeting(ctx: Context) -> Outcome:
    """A greeting: greet back by name, and say what the bot can do."""
    if ctx.member is not None:
        return say("social.greeting_member", name=ctx.member.name)
    return say("social.greeting")


@router.intent("thanks", THANKS_PHRASES)
async def thanks(ctx: Context) -> Outcome:
    return say("social.thanks")


@router.intent("smalltalk", SMALLTALK_PHRASES)
async def smalltalk(ctx: Context) -> Outcome:
    return say("social.smalltalk")
