"""Statements merged into windows: one per distinct span, old and cancelled ones taken out, lone stops
and restores joined to them or paired up. Pure."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from .model import FoundWindow, Merged, Moment, State, Stated
from .segment import Sentence


def merge(state: State) -> list[Merged]:
    """One window per distinct (start, end), old and cancelled ones taken out; a lone stop or restore
    sentence that matches a window's start or end joins it; a lone stop then a lone restore pair up."""
    gone = {(s.start, s.end) for s in state.stated if s.role in ("old", "cancelled")}
    out: list[Merged] = []
    for stated in state.stated:
        if stated.role in ("old", "cancelled") or (stated.start, stated.end) in gone:
            continue
        if stated.role == "window" and stated.start.astimezone(state.tz).date() in state.old_days:
            continue
        same = next((m for m in out if (m.window.start, m.window.end) == (stated.start, stated.end)), None)
        if same is None:
            out.append(Merged(FoundWindow(stated.start, stated.end, stated.all_day, (stated.sentence.source,),
                                      stated.system, stated.repeat), [stated]))
        else:
            _join(same, stated)
    _pair_moments(state, out)
    return out


def _join(merged: Merged, stated: Stated) -> None:
    """Add another statement of the same window."""
    kept = merged.window
    sources = kept.sources if stated.sentence.source in kept.sources else (*kept.sources, stated.sentence.source)
    merged.window = replace(kept, all_day=kept.all_day and stated.all_day, sources=sources,
                            repeat=kept.repeat or stated.repeat)
    merged.stated.append(stated)


def _pair_moments(state: State, out: list[Merged]) -> None:
    """Join lone stop and restore moments to the windows they match, or pair them into windows (a stop
    and a later restore, or a stop and a length stated after it)."""
    pending: Moment | None = None
    for moment in state.moments:
        if moment.kind == "length":
            if pending is not None and pending.at is not None and moment.length is not None:
                _pair(state, out, pending, pending.at + moment.length, moment.sentence)
                pending = None
            continue
        match = next((m for m in out if (m.window.start if moment.kind == "start" else m.window.end) == moment.at),
                     None)
        if match is not None:
            kept = match.window
            if moment.sentence.source not in kept.sources:
                match.window = replace(kept, sources=(*kept.sources, moment.sentence.source))
        elif moment.kind == "start":
            pending = moment
        elif pending is not None and pending.at is not None and moment.at is not None and pending.at < moment.at:
            _pair(state, out, pending, moment.at, moment.sentence)
            pending = None
        elif moment.timed:  # a day alone ("10月14日起恢复正常交易") after the windows is no news
            state.warnings.append(f"a restore time with no stop to pair it with: {moment.sentence.text!r}")
    if pending is not None:
        state.warnings.append(f"a stop time with no restore time: {pending.sentence.text!r}")


def _pair(state: State, out: list[Merged], start: Moment, end: datetime, sentence: Sentence) -> None:
    """Add the window a lone stop and its restore (or length) state."""
    assert start.at is not None  # noqa: S101 - only stops with a time are pending
    sources = tuple(dict.fromkeys((start.sentence.source, sentence.source)))
    stated = [Stated(start.at, end, False, start.sentence, "window", state.system),
              Stated(start.at, end, False, sentence, "window", state.system)]
    out.append(Merged(FoundWindow(start.at, end, False, sources, state.system), stated))
