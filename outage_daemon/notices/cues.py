"""Cue words that decide what a dated sentence is: an outage, office hours, a deadline, a past incident,
a reschedule or a cancellation. Pure (regular expressions and predicates)."""

from __future__ import annotations

import re

OUTAGE = re.compile(
    r"停机|维护|升级|暂停|中断|停止|停用|停服|割接|迁移|切换|不可用|停电|停水|停气|检修|无法(?:访问|使用|登录|办理|连接)|暂不|停运|"
    r"下线|关闭|恢复|影响时段|维护时段|不能(?:访问|使用|登录|办理)|闪断|重启|断开|"
    r"downtime|maintenance|outage|unavailable|offline|\bdown\b|restor|upgrade|migrat|\bwindow\b|disrupt|"
    r"\brestart|\breboot|"
    r"interrupt|suspend|read-only|cutover|not be (?:available|accessible)|inaccessible|service impact|"
    r"will be (?:unavailable|down|offline|paused|inaccessible)|intermittent|\bclosed\b|\bshut ?down\b|"
    r"\bout of service\b|\bnot (?:be )?available\b|\bscheduled for\b|\bplanned for\b",
    re.IGNORECASE)
# A clause with these is about something else: office hours, hotlines, deadlines, filing periods.
NOT_A_WINDOW = re.compile(
    r"工作时间|营业时间|办公时间|(?<!暂停)(?<!停止)服务时间|受理时间为|咨询时间|热线|客服|值班|征期|申报期|"
    r"截止日期|截止时间|申报截止|办理期限|"
    r"周末及节假日|工作日|开放时间|每周|每逢|每月|"
    r"(?:office|business|opening|support|working|service desk|call[- ]cent(?:er|re)|helpdesk|phone)\s+hours|"
    r"hotline|help ?desk|service desk|support (?:team|line|is available)|call us|deadline|due (?:date|by)|"
    r"filing period|webinar|training|office hours|every day|weekdays|every (?:week|month)\b|"
    r"\bevery (?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day|每(?:周|星期|礼拜)[一二三四五六日天]|"
    r"(?:周|星期)[一二三四五六日天]\s*(?:至|到|-|~|—)\s*(?:周|星期)?[一二三四五六日天]|"
    r"\b(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day\s*(?:-|–|to|through|thru)\s*(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day",
    re.IGNORECASE)
# A line led by a label ("FoundWindow:", "北京地区：") or a list marker; "时间为…9:00" is not a label.
LABEL = re.compile(r"^\s*(?:[-*•·]\s*|\d{1,2}\s*[.)、]\s*|\(\d{1,2}\)\s*)?[\w\u4e00-\u9fff ()（）/.-]{1,30}"
                   r"[:：](?!\d\d(?![\d月日号年/.-]))|^\s*(?:[-*•·]|\d{1,2}\s*[.)、]|\(\d{1,2}\))\s")
# A length of time: "Expected duration: 60 minutes", "持续约2小时", "for two hours".
DURATION = re.compile(r"(?:duration|last(?:s|ing)?|take|for|持续|历时|耗时|需要|需时)\s*[:：]?\s*"
                      r"(?:about|approximately|approx\.?|around|约|大约)?\s*(?P<n>\d+(?:\.\d+)?|an?|one|two|three|"
                      r"four|five|six|半)\s*(?:个)?(?P<unit>minutes?|mins?|hours?|hrs?|分钟|小时)", re.IGNORECASE)
_WORDS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "半": 0.5}


def duration_minutes(match: re.Match[str]) -> float:
    """Given a DURATION match, return its length in minutes."""
    n = match.group("n").lower()
    count = _WORDS[n] if n in _WORDS else float(n)
    return count * (1 if match.group("unit").lower().startswith(("min", "分")) else 60)


def scope(sentence: str, start: int, end: int) -> str:
    """Return what decides whether a span is excluded: its clause, and the sentence's label ("办公时间：")."""
    label = LABEL.match(sentence)
    return clause(sentence, start, end) + (" " + label.group(0) if label else "")
# Said of something that has already happened: an earlier incident is not a window.
PAST = re.compile(
    r"曾于|曾经|曾出现|已于|已顺利|上次|此前|前次|去年|上月|上周|回顾|"
    r"\blast (?:week|month|year|time|night)\b|\bearlier (?:this|today)\b|\boccurred\b|\bexperienced\b|"
    r"\bincident\b|post-?mortem|\bwas (?:resolved|restored|completed|down|unavailable)\b|\bwent down\b|"
    r"\bprevious\b|\bcompleted (?:ahead|successfully|on time|without|as planned)|\bwent smoothly\b|已完成|顺利完成",
    re.IGNORECASE)
# The window that follows replaces an earlier one.
CHANGE = re.compile(
    r"改为|改至|改到|调整为|调整至|调整到|变更为|变更至|更改为|推迟至|推迟到|推迟为|延期至|延期到|延后至|延后到|"
    r"顺延至|顺延到|提前至|提前到|提前为|改期至|改期为|"
    r"rescheduled|moved to|postponed|brought forward to|pushed (?:back )?to|"
    r"new (?:window|time|date|schedule)(?: is| will be)?|will now (?:take place|run|be)|now (?:take place|scheduled)",
    re.IGNORECASE)
# The window stated near these is the old one of a reschedule.
OLD = re.compile(r"原定|原计划|原通知|原公告|原先|原于|previously (?:announced|scheduled|planned)|originally|"
                 r"formerly|instead of|rather than|\bfrom its original\b", re.IGNORECASE)
CANCEL = re.compile(r"取消|撤销|不再进行|不再实施|cancell?ed|called off|will not (?:take place|go ahead|happen)|"
                    r"no longer (?:take place|go ahead|happen|required)", re.IGNORECASE)
# Distinct windows say so: phases, ordinals, lists.
ORDINAL = re.compile(r"第[一二三四五六七八九十\d]+(?:次|阶段|批|轮|期|个)|分(?:两|三|四|[2-9])(?:次|个阶段|阶段|批|轮)|"
                     r"分别|阶段|批次|每周|每晚|每月|"
                     r"\b(?:phase|stage|wave|round|part)\s*\d|\b(?:first|second|third|fourth|final|another|"
                     r"additional|follow-up|subsequent|each|both|two|three|several|weekly|nightly|recurring)\b",
                     re.IGNORECASE)
# A sentence that starts like these is about the window stated just before it.
FOLLOWS = re.compile(r"^(?:[\u4e00-\u9fff]{0,6}期间|此段时间内|在此期间|此期间|上述时间|上述时段|该时段|届时|期间|"
                     r"during (?:this|that|the) (?:time|period|window)|at that time|in that time|while (?:the )?work)",
                     re.IGNORECASE)
# Hedged: "may be extended until", "如有延长": a lone time in such a sentence is not an edge of the window.
HEDGED = re.compile(r"可能|如有|如遇|视情况|延长|或将|if (?:needed|necessary|required)|\bmay\b|\bmight\b|"
                    r"\bextend|\bcould\b|\bpossibl", re.IGNORECASE)
DEADLINE_AFTER = re.compile(r"\s*(?:之前|以前|前(?!后))")
DEADLINE_BEFORE = re.compile(r"(?:请于|请在|务必在|须在|\bbefore|\bby|no later than|prior to)\s*$", re.IGNORECASE)
CLAUSE_END = re.compile(r"[,，;；。]|[:：](?!\d)")  # the colon of a label, not of a time


def clause(sentence: str, start: int, end: int) -> str:
    """Return the clause around a span: from the punctuation before it to the punctuation after it."""
    before = max((m.end() for m in CLAUSE_END.finditer(sentence, 0, start)), default=0)
    after = next((m.start() for m in CLAUSE_END.finditer(sentence, end)), len(sentence))
    return sentence[before:after]


def following(sentence: str, end: int) -> str:
    """Return the clause after the one that holds offset ``end`` ("…, the API experienced errors")."""
    stop = next((m.end() for m in CLAUSE_END.finditer(sentence, end)), None)
    return "" if stop is None else clause(sentence, stop, stop)
ALL_DAY = re.compile(r"^[\s)）]*(?:全天|整天|all day|the whole day|the entire day)", re.IGNORECASE)
# Part of a month, not a day: "6月下旬", 本月底, "late June", "end of the month".
PART_OF_MONTH = re.compile(r"(?:\d{1,2}\s*月|本月|下月|下个月|次月)\s*(?:上旬|中旬|下旬|底|末|初)|"
                           r"月底|月末|月初|上旬|中旬|下旬|"
                           r"\b(?:early|mid|late|end of)[- ](?:the )?(?:month|Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|"
                           r"Nov|Dec)[a-z]*\b", re.IGNORECASE)
ALL_DAY_BEFORE = re.compile(r"(?:全天|整天|\ball day|the whole day|the entire day)\s*$", re.IGNORECASE)


def own_cue(sentence: str) -> bool:
    """Whether the sentence speaks of an outage outside its excluded clauses ("校园网每周二例行维护" is not)."""
    return any(OUTAGE.search(part) and not NOT_A_WINDOW.search(part) for part in CLAUSE_END.split(sentence))
# Text that states a time of day: where none of it was read as a time, a window with a clockless edge
# (00:00) would be invented. Digits with h, . or 时/点, am/pm, Chinese-numeral hours, parts of the day.
TIME_LIKE = re.compile(
    r"\d{1,2}\s*[hH:：.]\s*\d{2}(?!\d)|\d{1,2}\s*[hH]\b|\d{1,2}\s*(?:[点时]|[ap]\.?m\b|o'clock)|"
    r"[零〇○一二两三四五六七八九十]+\s*[点时](?!间|段|期|候|代|刻表)|"
    r"凌晨|早上|早晨|清晨|上午|中午|午间|下午|傍晚|晚上|晚间|夜间|夜里|深夜|半夜|每晚|当晚|今晚|明晚|"
    r"日终|日切|下班后|营业终了|收市后|闭市后|"
    r"\b(?:night(?:ly)?|overnight|evening|morning|afternoon|noon|midnight|close of business|end of (?:the )?"
    r"(?:business )?day|COB|EOD)\b", re.IGNORECASE)
