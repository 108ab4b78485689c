"""Config loading: every error class with its exact file and line, all reported at once."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from outage_daemon.core.errors import ConfigError
from outage_daemon.core.model import Config
from outage_daemon.loader import load

HEAD = """\
timezone: America/New_York
audiences:
  ops: {email: [ops@example.com]}
windows:
  - id: w1
    system: db
"""
# HEAD is 6 lines; a case's first own line is line 7.


@pytest.mark.parametrize(("body", "expected"), [
    pytest.param("    start: 2026-05-01 10:00\n    end: 2026-05-01 11:00\n    colour: red\n",
                 "cfg.yaml:9: windows[0].colour: unknown key", id="unknown-key"),
    pytest.param("    start: 2026-05-01 10:00\n    end: 2026-05-01 11:00\n    titel: x\n",
                 "cfg.yaml:9: windows[0].titel: unknown key (did you mean title?)", id="unknown-key-hint"),
    pytest.param("    start: 2026-05-01 10:00\n    end: 2026-05-01 11:00\n    start: 2026-05-02 10:00\n",
                 "cfg.yaml:9: windows[0].start: duplicate key (first at line 7)", id="duplicate-key"),
    pytest.param("    start: 2026-05-01 10:00\n    end: 2026-05-01 11:00\n    services: 发票开具\n",
                 "cfg.yaml:9: windows[0].services: expected a list, got '发票开具'", id="wrong-type"),
    pytest.param("    start: 2026-05-01 10:00\n    end: 2026-05-01 11:00\n    timezone: Mars/Base\n",
                 "cfg.yaml:9: windows[0].timezone: unknown time zone 'Mars/Base'", id="unknown-zone"),
    pytest.param("    start: 2026-03-08 02:30\n    end: 2026-03-08 04:00\n",
                 "cfg.yaml:7: windows[0].start: 2026-03-08 02:30 does not exist in America/New_York",
                 id="dst-gap"),
    pytest.param("    start: 2026-11-01 00:30\n    end: 2026-11-01 01:30\n",
                 "cfg.yaml:8: windows[0].end: 2026-11-01 01:30 happens twice in America/New_York (DST ends): "
                 "write the offset, -04:00 or -05:00", id="ambiguous"),
    pytest.param("    start: 2026-05-01 10:00\n    end: 2026-05-01 09:00\n",
                 "cfg.yaml:8: windows[0].end: end 2026-05-01 09:00 is before start 2026-05-01 10:00", id="end-before-start"),
    pytest.param("    start: 2026-05-01 10:00\n    end: 2026-05-01 10:00\n",
                 "cfg.yaml:8: windows[0].end: end equals start (2026-05-01 10:00)", id="end-equals-start"),
    pytest.param("    start: 2026-05-03\n    end: 2026-05-01\n",
                 "cfg.yaml:8: windows[0].end: end 2026-05-01 is before start 2026-05-03", id="all-day-end-before-start"),
    pytest.param("    start: 2026-05-01\n    end: 2026-05-01 10:00\n",
                 "cfg.yaml:8: windows[0].end: start and end must both be dates", id="date-and-time"),
    pytest.param("    start: 2026-05-01 10:00\n    end: 2026-05-01 11:00\n    audiences: [ops, finance]\n",
                 "cfg.yaml:9: windows[0].audiences[1]: unknown audience 'finance' (known: ops)",
                 id="unknown-audience"),
    pytest.param("    start: 2026-05-01 10:00\n    end: 2026-05-01 11:00\n    notify: {before_stop: [1d, 2hours]}\n",
                 "cfg.yaml:9: windows[0].notify.before_stop[1]: bad duration '2hours'", id="bad-duration"),
    pytest.param("    start: 2026-05-01 10:00\n    end: 2026-05-01 11:00\n    repeat: FREQ=FORTNIGHTLY\n",
                 "cfg.yaml:9: windows[0].repeat: bad repeat rule 'FREQ=FORTNIGHTLY'", id="bad-rrule"),
    pytest.param("    start: 2026-05-01 10:00\n    end: 2026-05-01 11:00\n    status: yes\n",
                 "cfg.yaml:9: windows[0].status: 'yes' is not one of confirmed, tentative, cancelled",
                 id="yes-is-text"),
    pytest.param("    start: 2026-05-01 10:00\n    end: 2026-05-01 11:00\n    notify: {at_stop: yes}\n",
                 "cfg.yaml:9: windows[0].notify.at_stop: expected true or false, got 'yes'", id="yes-not-bool"),
    pytest.param("    start: 2026-05-01 10:00\n    end: 2026-05-01 11:00\n    title: !!python/object:os.system x\n",
                 "cfg.yaml:9: windows[0].title: YAML tags are not allowed here", id="python-tag"),
    pytest.param("    start: 2026-05-01 10:00\n    end: 2026-05-01 11:00\n    title: [unclosed\n",
                 "cfg.yaml:10: (yaml): while parsing a flow sequence", id="yaml-syntax"),
    pytest.param("    start: 2026-05-01 10:00\n",
                 "cfg.yaml:5: windows[0].end: missing (required)", id="missing-required"),
    pytest.param("    start: 2026-05-01 10:00\n    end: 2026-05-01 11:00\n    except: [2026-05-08]\n",
                 "cfg.yaml:9: windows[0].except: except: only applies to a window with repeat:", id="except-alone"),
    pytest.param("    start: 2026-05-01 10:00\n    end: 2026-05-01 11:00\n    notify: {before_stop: [0m]}\n",
                 "cfg.yaml:9: windows[0].notify.before_stop[0]: must be longer than 0", id="zero-offset"),
    pytest.param("    start: 2026-05-01 10:00\n    end: 2026-05-01 11:00\n    title: \"a\\x00b\"\n",
                 "cfg.yaml:9: windows[0].title: control characters are not allowed", id="control-char"),
])
def test_error(errors_of: Callable[[str], list[str]], body: str, expected: str) -> None:
    errors = errors_of(HEAD + body)
    assert any(e.startswith(expected) for e in errors), errors


def test_all_errors_at_once(errors_of: Callable[[str], list[str]]) -> None:
    errors = errors_of("""
        timezone: Europe/Nowhere
        language: fr
        windows:
          - id: a
            system: s
            start: 2026-05-01 10:00
            end: 2026-05-01 09:00
          - id: a
            system: s
            start: 2026-05-02 10:00
            end: 2026-05-02 11:00
            audiences: [nobody]
          - {id: b, system: s, start: 2026-13-01 10:00, end: 2026-05-01 11:00}
        """)
    # An unknown top-level zone stops nothing else from being checked (windows fall back to UTC).
    assert [e.split(":")[1] for e in errors] == ["1", "2", "7", "8", "12", "13"], errors
    assert "duplicate window id 'a' (first at" in errors[3]
    assert "month must be in 1..12" in errors[5]


def test_duplicate_id_across_included_files(write: Callable[..., Path]) -> None:
    write("windows:\n  - {id: a, system: s, start: 2026-05-01 10:00, end: 2026-05-01 11:00}\n",
          "windows.d/one.yaml")
    write("# two\nwindows:\n  - {id: a, system: t, start: 2026-06-01 10:00, end: 2026-06-01 11:00}\n",
          "windows.d/two.yaml")
    main = write("include: [windows.d/*.yaml]\n")
    with pytest.raises(ConfigError) as info:
        load(str(main))
    [problem] = info.value.problems
    assert problem.loc.file.endswith("windows.d/two.yaml") and problem.loc.line == 3
    assert "first at" in problem.message and "one.yaml:2" in problem.message


def test_include_adds_windows_and_audiences(write: Callable[..., Path]) -> None:
    write("audiences: {ops: {email: [o@example.com]}}\n"
          "windows:\n  - {id: b, system: s, start: 2026-05-01 10:00, end: 2026-05-01 11:00}\n",
          "windows.d/b.yaml")
    main = write("include: [windows.d/*.yaml, missing.d/*.yaml]\n"
                 "windows:\n  - {id: a, system: s, start: 2026-05-02 10:00, end: 2026-05-02 11:00}\n")
    config = load(str(main))
    assert [w.id for w in config.windows] == ["a", "b"]
    assert config.window("b") is not None and config.window("b").audiences == ("ops",)  # type: ignore[union-attr]


def test_include_may_not_set_top_level_keys(write: Callable[..., Path], tmp_path: Path) -> None:
    write("timezone: UTC\n", "extra.yaml")
    main = write("include: [extra.yaml, nothere.yaml]\n")
    with pytest.raises(ConfigError) as info:
        load(str(main))
    text = [str(p).replace(str(tmp_path) + "/", "") for p in info.value.problems]
    assert text == ["cfg.yaml:1: include[1]: no such file: 'nothere.yaml'",
                    "extra.yaml:1: timezone: unknown key"]
    (tmp_path / "sub").mkdir()
    with pytest.raises(ConfigError) as info:
        load(str(write("include: ['', sub]\n")))
    assert [str(p).replace(str(tmp_path) + "/", "") for p in info.value.problems] == [
        "cfg.yaml:1: include[0]: an empty pattern names no file", "cfg.yaml:1: include[1]: is a folder, not a file: 'sub'"]


def test_unreadable_and_empty_files(write: Callable[..., Path], tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load(str(tmp_path / "absent.yaml"))
    with pytest.raises(ConfigError, match="the file is empty"):
        load(str(write("# only a comment\n")))
    bad = tmp_path / "latin1.yaml"
    bad.write_bytes(b"timezone: UTC\nlanguage: \xe9\n")
    with pytest.raises(ConfigError, match=r"latin1\.yaml:2: \(file\): not valid UTF-8"):
        load(str(bad))


def test_yaml_11_surprises_stay_text(config_of: Callable[[str], Config]) -> None:
    config = config_of("""
        windows:
          - id: 2023-10-15
            system: on
            title: no
            start: 2023-10-15 22:00
            end: 2023-10-16
            description: 1e3
        """.replace("end: 2023-10-16", "end: 2023-10-16 06:00"))
    [w] = config.windows
    assert (w.id, w.system, w.title, w.description) == ("2023-10-15", "on", "no", "1e3")


def test_defaults_and_overrides(config_of: Callable[[str], Config]) -> None:
    config = config_of("""
        timezone: Asia/Shanghai
        audiences: {a: {email: [x@example.com]}, b: {email: ["名字 <y@example.com>"]}}
        notify: {before_stop: [1d], late_limit: 30m}
        windows:
          - {id: one, system: s, start: 2026-05-01 10:00, end: 2026-05-01 11:00}
          - {id: two, system: s, start: 2026-05-02 10:00, end: 2026-05-02 11:00, notify: false}
          - id: three
            system: s
            start: 2026-05-03
            end: 2026-05-04
            timezone: Europe/Berlin
            notify: {at_stop: false, before_restore: []}
        """)
    one, two, three = config.windows
    assert config.language == "zh-CN" and config.calendar.name == "Planned outages"
    assert [o.text for o in one.notify.before_stop] == ["1d"]  # type: ignore[union-attr]
    assert one.notify.late_limit.seconds == 1800 and one.notify.at_stop  # type: ignore[union-attr]
    assert [o.text for o in one.notify.before_restore] == ["30m"]  # type: ignore[union-attr]
    assert one.audiences == ("a", "b") and two.notify is None
    assert three.all_day and three.tz.key == "Europe/Berlin"
    assert three.start.isoformat() == "2026-05-03T00:00:00+02:00"
    assert three.end.isoformat() == "2026-05-05T00:00:00+02:00"  # the last day is inclusive
    assert three.notify is not None and not three.notify.at_stop and three.notify.before_restore == ()
    assert three.notify.before_stop == one.notify.before_stop  # type: ignore[union-attr]


def test_alias_bomb_is_an_error_not_a_hang(errors_of: Callable[[str], list[str]]) -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [*a{i-1}, *a{i-1}, *a{i-1}, *a{i-1}, *a{i-1}, *a{i-1}, *a{i-1}, *a{i-1}, *a{i-1}]"
              for i in range(1, 9)]
    # 9**9 leaves if expanded; the schema stops at the first level that has the wrong shape.
    errors = errors_of("\n".join(lines) + "\nwindows: *a8\n")
    assert len(errors) == 9 + 9
    assert sum(e.endswith(": expected a mapping, got a list") for e in errors) == 9
    assert errors_of("windows: &w [*w]\n") == ["cfg.yaml:1: windows[0]: expected a mapping, got a list"]


def test_example_config_is_valid() -> None:
    from conftest import ROOT

    config = load(str(ROOT / "config" / "example.yaml"))
    assert {w.status for w in config.windows} == {"confirmed", "tentative"}
    assert any(w.rule is not None for w in config.windows)
    assert config.email.smtp is None and len(config.audiences) == 2
