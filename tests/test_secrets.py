"""`check --secrets` (issue 23): every secret the config names — SMTP password, webhook URLs and
signing secrets, feed tokens, from files, the environment or systemd credentials — is tried as the
checking user would read it; each line names the config key and the resolved place, never the value."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path


def test_check_secrets_names_each_key_and_place(write: Callable[..., Path], tmp_path: Path) -> None:
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "wecom-url").write_text("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=TOPSECRET\n")
    (tmp_path / "empty-token").write_text("\n")
    path = write(f"""
timezone: Asia/Shanghai
email:
  from: ops@example.com
  smtp: {{host: smtp.example.com, username: ops, password_file: {tmp_path}/missing-password}}
webhooks:
  ops-wecom: {{kind: wecom, url_credential: wecom-url, secret_env: DING_SECRET}}
  ops-ding: {{kind: dingtalk, url_env: DING_URL}}
calendar:
  base_url: https://status.example.com
  feeds: [{{name: finance, token_file: {tmp_path}/empty-token}}]
""")
    env = {**os.environ, "CREDENTIALS_DIRECTORY": str(creds), "DING_URL": "https://oapi.dingtalk.com/x?access_token=TOPSECRET"}
    env.pop("DING_SECRET", None)
    result = subprocess.run([sys.executable, "-m", "outage_daemon", "check", "-c", str(path), "--secrets"],
                            capture_output=True, text=True, timeout=60, check=False, env=env)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "TOPSECRET" not in result.stdout + result.stderr
    assert result.stdout.splitlines() == [
        f"{path}: webhooks.ops-wecom.url_credential: {creds}/wecom-url: readable",
        f"{path}: webhooks.ops-ding.url_env: environment variable DING_URL: readable",
    ]
    errors = result.stderr.splitlines()
    assert f"{path}: email.smtp.password_file: {tmp_path}/missing-password: cannot read secret file " \
           f"{tmp_path}/missing-password: No such file or directory" in errors
    assert f"{path}: webhooks.ops-wecom.secret_env: environment variable DING_SECRET: environment variable " \
           "DING_SECRET is not set" in errors
    assert f"{path}: calendar.feeds[finance].token_file: {tmp_path}/empty-token: secret file " \
           f"{tmp_path}/empty-token is empty" in errors
    plain = subprocess.run([sys.executable, "-m", "outage_daemon", "check", "-c", str(path)],
                           capture_output=True, text=True, timeout=60, check=False, env=env)
    assert plain.returncode == 0, plain.stderr  # without --secrets, check reads no secret (as before)


def test_check_secrets_covers_the_ack_key_calendars_and_alertmanagers(write: Callable[..., Path],
                                                                      tmp_path: Path) -> None:
    (tmp_path / "ack.key").write_text("0123456789abcdef0123456789abcdef\n")
    path = write(f"""
timezone: Asia/Shanghai
calendar: {{base_url: https://status.example.com}}
acknowledge: {{key_file: {tmp_path}/ack.key}}
audiences:
  finance: {{email: [a@example.com], acknowledge: true}}
calendars:
  shared: {{kind: caldav, url: "https://dav.example.com/c/", user: fin, password_env: CALDAV_PW}}
monitoring:
  alertmanager:
    - {{url: "http://am.example.com:9093", token_file: {tmp_path}/am-token, systems: {{db: ['job="pg"']}}}}
windows:
  - {{id: db, system: db, start: 2030-03-22 02:00, end: 2030-03-22 04:00, audiences: [finance]}}
""")
    env = {**os.environ}
    env.pop("CALDAV_PW", None)
    result = subprocess.run([sys.executable, "-m", "outage_daemon", "check", "-c", str(path), "--secrets"],
                            capture_output=True, text=True, timeout=60, check=False, env=env)
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout.splitlines() == [f"{path}: acknowledge.key_file: {tmp_path}/ack.key: readable"]
    errors = result.stderr.splitlines()
    assert f"{path}: calendars.shared.password_env: environment variable CALDAV_PW: environment variable " \
           "CALDAV_PW is not set" in errors
    assert f"{path}: monitoring.alertmanager[0].token_file: {tmp_path}/am-token: cannot read secret file " \
           f"{tmp_path}/am-token: No such file or directory" in errors


def test_check_secrets_reads_a_graph_calendars_client_secret(write: Callable[..., Path], tmp_path: Path) -> None:
    path = write(f"""
timezone: Asia/Shanghai
audiences:
  finance: {{email: [a@example.com]}}
calendars:
  m365: {{kind: graph, tenant: t, client_id: c, client_secret_file: {tmp_path}/missing, mailbox: m@example.com}}
windows:
  - {{id: db, system: db, start: 2030-03-22 02:00, end: 2030-03-22 04:00, audiences: [finance]}}
""")
    result = subprocess.run([sys.executable, "-m", "outage_daemon", "check", "-c", str(path), "--secrets"],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"{path}: calendars.m365.client_secret_file: {tmp_path}/missing: cannot read secret file " \
           f"{tmp_path}/missing: No such file or directory" in result.stderr.splitlines(), result.stderr
