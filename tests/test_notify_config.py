"""Loading notifications.yaml: every mistake as file:line:column with the likely fix, and which file is used.

Every `tests/broken_notifications/<mistake>.yaml` holds one mistake a person might make
(`several_mistakes.yaml` holds several); the lines reported for it are pinned in `<mistake>.expected`.
After an intended change to the messages, rewrite the golden files and review the diff:

    BASTIDOR_UPDATE_GOLDEN=1 python -m pytest tests/test_notify_config.py
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bastidor.flow.diagnostics import FlowValidationError
from bastidor.notify import Notifier, load_notification_settings, load_notifier
from bastidor.notify.__main__ import main as notify_command

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "tests" / "broken_notifications"
UPDATE = os.environ.get("BASTIDOR_UPDATE_GOLDEN") == "1"

GOOD = """
channels:
  mail:
    type: email
    host: 127.0.0.1
    security: none
    from: bastidor@example.com
    to: supervisors@example.com
rules:
  - events: [run_failed]
    channels: [mail]
"""


def _problems(path: Path) -> list[str]:
    with pytest.raises(FlowValidationError) as caught:
        load_notification_settings(path.relative_to(REPO))
    return [str(problem) for problem in caught.value.diagnostics]


@pytest.fixture(autouse=True)
def _at_repo_root(monkeypatch):
    """Paths in messages are relative to the working folder: run every test from the repo root."""
    monkeypatch.chdir(REPO)
    monkeypatch.delenv("BASTIDOR_NOTIFICATIONS", raising=False)


@pytest.mark.parametrize("path", sorted(CORPUS.glob("*.yaml")), ids=lambda path: path.stem)
def test_broken_notifications_file_gets_exactly_the_pinned_messages(path: Path):
    actual = _problems(path)
    golden = CORPUS / f"{path.stem}.expected"
    if UPDATE:
        golden.write_text("".join(f"{line}\n" for line in actual), encoding="utf-8")
    assert actual == golden.read_text(encoding="utf-8").splitlines()


def test_the_corpus_has_a_non_empty_golden_file_for_every_broken_file():
    cases = {path.stem for path in CORPUS.glob("*.yaml")}
    assert len(cases) >= 15
    assert cases == {path.stem for path in CORPUS.glob("*.expected")}
    assert all((CORPUS / f"{name}.expected").read_text(encoding="utf-8").strip() for name in cases)


def test_a_typo_in_a_key_is_placed_at_the_key_with_the_nearest_name():
    problems = _problems(CORPUS / "unknown_key_in_channel.yaml")
    assert "tests/broken_notifications/unknown_key_in_channel.yaml:4:5: unknown key 'hots' in channel " \
           "'supervisors-mail', did you mean 'host'?" in problems


def test_a_password_or_token_written_in_the_file_is_refused_and_never_repeated_in_the_message():
    password = _problems(CORPUS / "password_in_file.yaml")
    token = _problems(CORPUS / "token_in_header.yaml")
    assert any(":8:5: passwords are never written" in line and "password_secret: SMTP_PASSWORD" in line
               for line in password)
    assert "{{ secrets.WEBHOOK_TOKEN }}" in token[0]
    assert not any("do-not-echo" in line for line in password + token)


def test_the_example_file_in_the_repository_is_valid():
    settings = load_notification_settings(REPO / "notifications.example.yaml")
    assert set(settings.channels) == {"supervisors-mail", "ops-chat"}
    assert settings.channels["supervisors-mail"].password_secret == "SMTP_PASSWORD"
    assert len(settings.rules) == 3


def test_no_notifications_file_gives_a_notifier_that_sends_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    notifier = load_notifier(home=tmp_path / "home")
    assert not notifier.enabled
    assert not (tmp_path / "home").exists()


def test_notifications_yaml_in_the_current_folder_is_used_by_default(tmp_path, monkeypatch):
    (tmp_path / "notifications.yaml").write_text(GOOD, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert load_notifier().enabled


def test_a_file_named_by_the_environment_must_exist(tmp_path, monkeypatch):
    monkeypatch.setenv("BASTIDOR_NOTIFICATIONS", str(tmp_path / "missing.yaml"))
    with pytest.raises(FlowValidationError, match="missing.yaml:1:1: file not found"):
        load_notifier()


def test_the_environment_names_the_file_to_use(tmp_path, monkeypatch):
    path = tmp_path / "ops-notifications.yaml"
    path.write_text(GOOD, encoding="utf-8")
    monkeypatch.setenv("BASTIDOR_NOTIFICATIONS", str(path))
    notifier = load_notifier()
    assert isinstance(notifier, Notifier) and notifier.settings.path == path.resolve()


def test_single_names_may_be_written_without_brackets(tmp_path):
    path = tmp_path / "n.yaml"
    path.write_text(GOOD, encoding="utf-8")
    settings = load_notification_settings(path)
    assert settings.channels["mail"].recipients == ("supervisors@example.com",)
    assert settings.channels["mail"].port == 25


def test_check_command_reports_problems_with_exit_2_and_a_good_file_with_exit_0(capsys):
    assert notify_command(["check", "tests/broken_notifications/unknown_event.yaml"]) == 2
    assert "did you mean 'new_exception'?" in capsys.readouterr().err
    assert notify_command(["check", "notifications.example.yaml"]) == 0
    assert "no problems" in capsys.readouterr().out
