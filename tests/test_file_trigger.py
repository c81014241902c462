"""`on_file` triggers with the real service: a file dropped into a watched folder starts one run once it has
stopped growing, once per content, and ends in done/ or failed/; restarts and crashes never run it twice."""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

from service_support import output, queue_of, runner, runs_of, serve, started, stop, wait_until

FLOW = """
name: Take orders
inputs:
  orders_file: {type: path}
steps:
  - read_csv: {path: "{{ orders_file }}", into: rows}
  - wait: WAIT
  - log: "took {{ orders_file }} with {{ len(rows) }} rows"
  - assert: "{{ rows[0].status == 'ok' }}"
    message: "the first order is not ok"
"""

SCHEDULES = """
schedules:
  - id: orders-in
    flow: take.yaml
    trigger: {on_file: {folder: ./incoming, pattern: "PATTERN", input: orders_file, settle: SETTLE}}
"""

OK = "status\nok\n"
BAD = "status\nbad\n"


def setup_folder(folder: Path, settle: str = "1s", wait: str = "0s", pattern: str = "*.csv") -> Path:
    """take.yaml, schedules.yaml watching ./incoming, and the empty incoming folder."""
    (folder / "take.yaml").write_text(FLOW.replace("WAIT", wait))
    (folder / "schedules.yaml").write_text(SCHEDULES.replace("SETTLE", settle).replace("PATTERN", pattern))
    incoming = folder / "incoming"
    incoming.mkdir()
    return incoming


def requests(folder: Path) -> list:
    with queue_of(folder) as queue:
        return queue.list_runs(schedule_id="orders-in", limit=1000)


def key_of(content: str) -> str:
    return f"orders-in@sha256:{hashlib.sha256(content.encode()).hexdigest()}"


def names_in(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir() if path.is_file()) if folder.is_dir() else []


def start(folder: Path, workers: str = "1"):
    service = serve(folder, "--workers", workers)
    assert wait_until(lambda: started(service), timeout=90), output(service)
    return service


def test_a_file_dropped_in_starts_one_run_with_its_path_and_then_goes_to_done(tmp_path):
    incoming = setup_folder(tmp_path)
    service = start(tmp_path)
    (incoming / "orders.csv").write_text(OK)
    assert wait_until(lambda: names_in(incoming / "done") == ["orders.csv"], timeout=60), output(service)
    log = stop(service)
    [request] = requests(tmp_path)
    assert request.key == key_of(OK) and request.state == "done"
    assert request.inputs["orders_file"] == str(incoming / "processing" / "orders.csv")
    assert [run.status for run in runs_of(tmp_path)] == ["succeeded"]
    assert names_in(incoming) == [] and names_in(incoming / "processing") == []
    assert "took orders.csv as processing/orders.csv" in log


def test_a_file_copied_in_slowly_is_taken_only_after_it_stops_growing_and_only_once(tmp_path):
    incoming = setup_folder(tmp_path, settle="2s")
    service = start(tmp_path)
    content = "status\nok\n" + "".join(f"row {n}\n" for n in range(40))
    with (incoming / "big.csv").open("w") as copying:
        for line in content.splitlines(keepends=True):  # a slow copy: a line every 0.1 s, 5 s in all
            copying.write(line)
            copying.flush()
            assert (incoming / "big.csv").exists(), "taken while still growing"
            time.sleep(0.1)
    assert wait_until(lambda: names_in(incoming / "done") == ["big.csv"], timeout=60), output(service)
    stop(service)
    [request] = requests(tmp_path)
    assert request.key == key_of(content), "the run was started for the whole file, not a part of it"
    assert (incoming / "done" / "big.csv").read_text() == content
    assert len(runs_of(tmp_path)) == 1


def test_the_same_content_twice_makes_one_run_and_the_second_file_goes_to_done_as_a_duplicate(tmp_path):
    incoming = setup_folder(tmp_path)
    service = start(tmp_path)
    (incoming / "monday.csv").write_text(OK)
    assert wait_until(lambda: names_in(incoming / "done") == ["monday.csv"], timeout=60), output(service)
    (incoming / "tuesday.csv").write_text(OK)
    assert wait_until(lambda: "tuesday.csv" in names_in(incoming / "done"), timeout=60), output(service)
    log = stop(service)
    assert [request.key for request in requests(tmp_path)] == [key_of(OK)]
    assert len(runs_of(tmp_path)) == 1
    assert "tuesday.csv has the same content as an earlier file" in log and "not run again" in log


def test_a_failed_run_moves_its_file_to_failed_and_a_name_taken_there_gets_a_suffix(tmp_path):
    incoming = setup_folder(tmp_path)
    (incoming / "failed").mkdir()
    (incoming / "failed" / "orders.csv").write_text("an older file of the same name\n")
    service = start(tmp_path)
    (incoming / "orders.csv").write_text(BAD)
    assert wait_until(lambda: len(names_in(incoming / "failed")) == 2, timeout=60), output(service)
    stop(service)
    assert names_in(incoming / "failed") == ["orders-1.csv", "orders.csv"]
    assert (incoming / "failed" / "orders.csv").read_text() == "an older file of the same name\n"
    assert (incoming / "failed" / "orders-1.csv").read_text() == BAD
    assert [request.state for request in requests(tmp_path)] == ["failed"]
    assert [run.status for run in runs_of(tmp_path)] == ["failed"]


def test_a_service_killed_after_taking_a_file_runs_it_once_after_the_restart(tmp_path):
    incoming = setup_folder(tmp_path)
    first = start(tmp_path, workers="0")  # takes the file, but has no bot to run it
    (incoming / "orders.csv").write_text(OK)
    assert wait_until(lambda: [r.state for r in requests(tmp_path)] == ["queued"], timeout=60), output(first)
    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    (incoming / "again.csv").write_text(OK)  # the same content arrives while no service runs
    second = start(tmp_path)
    assert wait_until(lambda: names_in(incoming / "done") == ["again.csv", "orders.csv"], timeout=60), output(second)
    stop(second)
    assert [(request.key, request.state) for request in requests(tmp_path)] == [(key_of(OK), "done")]
    assert len(runs_of(tmp_path)) == 1


def test_a_file_left_in_processing_without_a_run_request_is_run_once_at_the_next_start(tmp_path):
    incoming = setup_folder(tmp_path)
    (incoming / "processing").mkdir()  # as when the service died between moving the file and recording it
    (incoming / "processing" / "orders.csv").write_text(OK)
    service = start(tmp_path)
    assert wait_until(lambda: names_in(incoming / "done") == ["orders.csv"], timeout=60), output(service)
    stop(service)
    [request] = requests(tmp_path)
    assert request.key == key_of(OK) and request.state == "done"
    assert len(runs_of(tmp_path)) == 1


def test_a_second_service_standing_by_never_takes_a_file_the_first_took(tmp_path):
    incoming = setup_folder(tmp_path, wait="1s")
    first, second = start(tmp_path), start(tmp_path)
    for number in range(3):
        (incoming / f"orders-{number}.csv").write_text(OK + f"{number}\n")
    assert wait_until(lambda: len(names_in(incoming / "done")) == 3, timeout=90), output(first) + output(second)
    stop(first)
    stop(second)
    keys = [request.key for request in requests(tmp_path)]
    assert len(keys) == 3 and len(set(keys)) == 3
    assert len(runs_of(tmp_path)) == 3


def test_a_paused_schedule_leaves_new_files_where_they_are_until_it_is_resumed(tmp_path):
    incoming = setup_folder(tmp_path)
    other = tmp_path / "other"
    other.mkdir()
    with (tmp_path / "schedules.yaml").open("a") as schedules:
        schedules.write("  - id: other-in\n    flow: take.yaml\n"
                        "    trigger: {on_file: {folder: ./other, pattern: '*.csv', input: orders_file, settle: 1s}}\n")
    schedules_file = str(tmp_path / "schedules.yaml")
    runner(tmp_path, "schedules", "--schedules", schedules_file, "pause", "orders-in", "--note", "month-end")
    service = start(tmp_path)
    (incoming / "orders.csv").write_text(OK)
    (other / "first.csv").write_text(OK + "first\n")
    assert wait_until(lambda: names_in(other / "done") == ["first.csv"], timeout=60), output(service)
    (other / "second.csv").write_text(OK + "second\n")  # taken only after orders.csv had settled, in a later poll
    assert wait_until(lambda: names_in(other / "done") == ["first.csv", "second.csv"], timeout=60), output(service)
    assert names_in(incoming) == ["orders.csv"] and requests(tmp_path) == []
    runner(tmp_path, "schedules", "--schedules", schedules_file, "resume", "orders-in")
    assert wait_until(lambda: names_in(incoming / "done") == ["orders.csv"], timeout=60), output(service)
    stop(service)
    assert [request.state for request in requests(tmp_path)] == ["done"]


def test_schedules_shows_a_file_trigger_in_words(tmp_path):
    setup_folder(tmp_path)
    listing = runner(tmp_path, "schedules", "--schedules", str(tmp_path / "schedules.yaml")).stdout
    assert "when a file matching *.csv appears in ./incoming" in listing
    assert "each time one arrives" in listing and "never" not in listing


def fix_the_flow(folder: Path) -> None:
    """What the operator does after a failed run: the flow now takes a first order that is not ok."""
    flow = folder / "take.yaml"
    flow.write_text(flow.read_text().replace("rows[0].status == 'ok'", "rows[0].status in ['ok', 'bad']"))


def test_a_second_file_of_a_fixed_name_waiting_under_a_suffix_in_processing_is_run_and_goes_to_done(tmp_path):
    incoming = setup_folder(tmp_path, pattern="statement.csv")
    first = start(tmp_path, workers="0")  # takes the files, but has no bot to run them: both wait in processing/
    (incoming / "statement.csv").write_text(OK + "monday\n")
    assert wait_until(lambda: names_in(incoming / "processing") == ["statement.csv"], timeout=60), output(first)
    (incoming / "statement.csv").write_text(OK + "tuesday\n")
    assert wait_until(lambda: [r.state for r in requests(tmp_path)] == ["queued", "queued"], timeout=60), output(first)
    assert names_in(incoming / "processing") == ["statement-1.csv", "statement.csv"]
    stop(first)
    second = start(tmp_path)
    assert wait_until(lambda: names_in(incoming / "done") == ["statement-1.csv", "statement.csv"], timeout=90), \
        output(second)
    stop(second)
    assert [request.state for request in requests(tmp_path)] == ["done", "done"]
    assert len(runs_of(tmp_path)) == 2 and names_in(incoming / "processing") == []


def test_a_file_left_in_processing_under_a_name_not_matching_the_pattern_is_run_once_at_the_next_start(tmp_path):
    incoming = setup_folder(tmp_path, pattern="statement.csv")
    (incoming / "processing").mkdir()  # the service died between moving a second statement.csv and recording it
    (incoming / "processing" / "statement-1.csv").write_text(OK)
    service = start(tmp_path)
    assert wait_until(lambda: names_in(incoming / "done") == ["statement-1.csv"], timeout=60), output(service)
    stop(service)
    assert [(request.key, request.state) for request in requests(tmp_path)] == [(key_of(OK), "done")]
    assert len(runs_of(tmp_path)) == 1


def test_a_file_whose_run_failed_dropped_again_after_the_fix_starts_a_new_attempt_and_then_is_a_duplicate(tmp_path):
    incoming = setup_folder(tmp_path)
    service = start(tmp_path)
    (incoming / "orders.csv").write_text(BAD)
    assert wait_until(lambda: names_in(incoming / "failed") == ["orders.csv"], timeout=60), output(service)
    fix_the_flow(tmp_path)
    (incoming / "orders.csv").write_text(BAD)  # the same content, dropped again
    assert wait_until(lambda: names_in(incoming / "done") == ["orders.csv"], timeout=60), output(service)
    (incoming / "again.csv").write_text(BAD)  # and once more: its run succeeded, so this one is a duplicate
    assert wait_until(lambda: "again.csv" in names_in(incoming / "done"), timeout=60), output(service)
    log = stop(service)
    assert sorted((request.key, request.state) for request in requests(tmp_path)) == \
        [(key_of(BAD), "failed"), (key_of(BAD) + "#2", "done")]
    assert sorted(run.status for run in runs_of(tmp_path)) == ["failed", "succeeded"]
    assert f"whose run request {key_of(BAD)} ended failed: a new attempt, run request {key_of(BAD)}#2" in log
    assert "again.csv has the same content as an earlier file" in log


def test_a_file_dropped_again_after_a_failure_and_left_in_processing_by_a_dead_service_is_a_new_attempt(tmp_path):
    incoming = setup_folder(tmp_path)
    service = start(tmp_path)
    (incoming / "orders.csv").write_text(BAD)
    assert wait_until(lambda: names_in(incoming / "failed") == ["orders.csv"], timeout=60), output(service)
    stop(service)
    fix_the_flow(tmp_path)
    (incoming / "processing").mkdir(exist_ok=True)  # taken again, under the same name, by a service that then died
    os.replace(incoming / "failed" / "orders.csv", incoming / "processing" / "orders.csv")
    service = start(tmp_path)
    assert wait_until(lambda: names_in(incoming / "done") == ["orders.csv"], timeout=60), output(service)
    stop(service)
    assert sorted((request.key, request.state) for request in requests(tmp_path)) == \
        [(key_of(BAD), "failed"), (key_of(BAD) + "#2", "done")]
    assert names_in(incoming / "failed") == []


def silent_imap_server() -> socket.socket:
    """A listening socket that accepts connections and never answers: a mail server that hangs."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    return server


def test_a_service_watching_a_folder_and_a_hanging_mail_server_stops_within_its_drain_timeout(tmp_path):
    setup_folder(tmp_path)
    hanging = silent_imap_server()
    with (tmp_path / "schedules.yaml").open("a") as schedules:
        schedules.write("  - id: mail-in\n    flow: take.yaml\n    trigger: {on_mail: {account: hangs, folder: INBOX, "
                        "input: orders_file, poll: 1s}}\n")
    text = (tmp_path / "schedules.yaml").read_text()
    (tmp_path / "schedules.yaml").write_text(
        "secrets: [MAIL_USER, MAIL_PASSWORD]\nmail_accounts:\n  hangs:\n"
        f"    imap: {{host: 127.0.0.1, port: {hanging.getsockname()[1]}, security: none}}\n"
        "    user: MAIL_USER\n    password: MAIL_PASSWORD\n    timeout: 10m\n" + text)
    env = dict(os.environ, BASTIDOR_SECRET_MAIL_USER="bot", BASTIDOR_SECRET_MAIL_PASSWORD="not-used")
    drain_s = 5
    service = serve(tmp_path, "--workers", "1", "--drain-timeout", str(drain_s), env=env)
    try:
        assert wait_until(lambda: started(service), timeout=90), output(service)
        connection, _ = hanging.accept()  # the mail watcher is now waiting for a greeting that never comes
        service.send_signal(signal.SIGTERM)
        try:  # before, the watchers were stopped one after the other, waiting up to 30 s + 60 s before the drain
            service.wait(timeout=drain_s + 25)
        except subprocess.TimeoutExpired:
            raise AssertionError("the service did not stop within its drain timeout\n" + output(service)) from None
        connection.close()
    finally:
        hanging.close()
    assert service.returncode == 0, output(service)
    assert "stopping: no new work is claimed" in output(service)
