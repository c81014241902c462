"""Run store contract: every backend keeps runs, items and steps the same way.

The tests that take `store` or `location` run once per backend in `BACKENDS`: a SQLite file, and a
throwaway PostgreSQL database (skipped, saying why, where no PostgreSQL can be reached). Tests of what
only a SQLite file has (WAL, its folders) take `tmp_path` and say so in their names.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import text

from bastidor.store import (
    AmbiguousRunIdError,
    ItemRecord,
    RunNotFoundError,
    RunRecord,
    SqlRunStore,
    StepRecord,
    StoreError,
    open_run_store,
)

T0 = datetime(2024, 5, 1, 9, 0, 0, 123456, tzinfo=timezone.utc)
BACKENDS = {"sqlite-file": lambda request, tmp_path: tmp_path / "db" / "bastidor.db",
            "postgresql": lambda request, tmp_path: request.getfixturevalue("pg_url")}


@pytest.fixture(params=sorted(BACKENDS))
def location(request, tmp_path):
    """Where a fresh store of each backend lives: a SQLite file path, or a fresh PostgreSQL database's URL."""
    return BACKENDS[request.param](request, tmp_path)


@pytest.fixture
def store(location):
    with open_run_store(location) as opened:
        yield opened


def make_run(run_id: str, minutes: int = 0, flow: str = "orders", **fields) -> RunRecord:
    return RunRecord(run_id=run_id, flow_name=flow, flow_path=f"flows/{flow}.yaml", flow_sha256="a" * 64,
                     started_at=T0 + timedelta(minutes=minutes), **fields)


def test_created_run_reads_back_unchanged(store):
    run = make_run("r-0001", inputs={"file": "orders.xlsx", "limit": 5}, host="bot-1", user="ana")
    store.create_run(run)
    assert store.get_run("r-0001") == run
    assert store.get_run("r-0001").started_at.tzinfo is not None


def test_inputs_with_decimals_are_stored_as_exact_text(store):
    store.create_run(make_run("r-dec", inputs={"amount": Decimal("10.10")}))
    assert store.get_run("r-dec").inputs == {"amount": "10.10"}


def test_creating_a_run_id_twice_is_refused(store):
    store.create_run(make_run("r-0001"))
    with pytest.raises(StoreError, match="already exists"):
        store.create_run(make_run("r-0001"))


def test_run_is_found_by_a_unique_id_prefix(store):
    store.create_run(make_run("7f3a9c01"))
    store.create_run(make_run("8b2d4e02"))
    assert store.get_run("7f3").run_id == "7f3a9c01"
    assert store.get_run("unknown") is None


def test_ambiguous_prefix_gets_a_clear_error_naming_the_matches(store):
    store.create_run(make_run("7f3a9c01"))
    store.create_run(make_run("7f3b0000"))
    with pytest.raises(AmbiguousRunIdError, match=r"'7f3' matches several runs \(7f3a9c01, 7f3b0000\)"):
        store.get_run("7f3")


def test_exact_id_wins_over_longer_ids_sharing_its_prefix(store):
    store.create_run(make_run("run1"))
    store.create_run(make_run("run10"))
    assert store.get_run("run1").run_id == "run1"


def test_prefix_wildcard_characters_are_taken_literally(store):
    store.create_run(make_run("ab_1"))
    store.create_run(make_run("abx1"))
    assert store.get_run("ab_").run_id == "ab_1"
    assert store.get_run("a%") is None


def test_runs_are_listed_newest_first_and_filtered(store):
    store.create_run(make_run("old", minutes=0, flow="orders", status="succeeded"))
    store.create_run(make_run("mid", minutes=5, flow="invoices", status="failed"))
    store.create_run(make_run("new", minutes=9, flow="orders", status="failed"))
    assert [r.run_id for r in store.list_runs()] == ["new", "mid", "old"]
    assert [r.run_id for r in store.list_runs(limit=2)] == ["new", "mid"]
    assert [r.run_id for r in store.list_runs(flow="orders")] == ["new", "old"]
    assert [r.run_id for r in store.list_runs(flow="orders", status="failed")] == ["new"]


def test_run_is_updated_when_it_ends(store):
    store.create_run(make_run("r-1"))
    ended = T0 + timedelta(minutes=3)
    store.update_run("r-1", status="failed", ended_at=ended, items_total=3, items_failed=1,
                     error="item o-2: out of stock", audit_last_hash="b" * 64)
    run = store.get_run("r-1")
    assert (run.status, run.ended_at, run.items_total, run.items_failed) == ("failed", ended, 3, 1)
    assert (run.error, run.audit_last_hash) == ("item o-2: out of stock", "b" * 64)


def test_updating_a_missing_run_or_an_unknown_field_is_refused_clearly(store):
    store.create_run(make_run("r-1"))
    with pytest.raises(RunNotFoundError, match="r-404"):
        store.update_run("r-404", status="failed")
    with pytest.raises(ValueError, match="Did you mean 'status'"):
        store.update_run("r-1", stauts="failed")


def test_steps_come_back_ordered_by_seq(store):
    store.create_run(make_run("r-1"))
    for seq in (3, 1, 2):
        store.add_step(StepRecord("r-1", seq, f"steps[{seq}]", "passed", action="fill", item_ref="o-1",
                                  started_at=T0, duration_ms=12, line=f"flows/orders.yaml:{seq + 10}"))
    listed = store.list_steps("r-1")
    assert [s.seq for s in listed] == [1, 2, 3]
    assert listed[0] == StepRecord("r-1", 1, "steps[1]", "passed", action="fill", item_ref="o-1",
                                   started_at=T0, duration_ms=12, line="flows/orders.yaml:11")


def test_duplicate_step_seq_and_steps_of_unknown_runs_are_refused(store):
    store.create_run(make_run("r-1"))
    store.add_step(StepRecord("r-1", 1, "steps[0]", "passed"))
    with pytest.raises(StoreError, match="already has a step with seq 1"):
        store.add_step(StepRecord("r-1", 1, "steps[0]", "passed"))
    with pytest.raises(StoreError, match="no run has the id r-404"):
        store.add_step(StepRecord("r-404", 1, "steps[0]", "passed"))


def test_item_upsert_inserts_then_replaces_its_state(store):
    store.create_run(make_run("r-1"))
    store.upsert_item(ItemRecord("r-1", "o-2", started_at=T0 + timedelta(seconds=1)))
    store.upsert_item(ItemRecord("r-1", "o-1", started_at=T0, data={"qty": 2}))
    store.upsert_item(ItemRecord("r-1", "o-2", status="failed", reason="out of stock", attempts=2,
                                 started_at=T0 + timedelta(seconds=1), ended_at=T0 + timedelta(seconds=4)))
    listed = store.list_items("r-1")
    assert [(i.item_ref, i.status) for i in listed] == [("o-1", "in_progress"), ("o-2", "failed")]
    assert (listed[1].reason, listed[1].attempts, listed[0].data) == ("out of stock", 2, {"qty": 2})


def test_a_slow_bot_that_finishes_after_its_run_was_ended_as_crashed_has_the_last_word(store):
    store.create_run(make_run("r-1", status="running"))
    store.upsert_item(ItemRecord("r-1", "o-1", started_at=T0))
    assert store.close_orphaned_run("r-1", "its bot stopped while the run was in progress")
    assert (store.get_run("r-1").status, store.list_items("r-1")[0].status) == ("crashed", "failed")
    assert not store.close_orphaned_run("r-1", "a second reap changes nothing")
    store.upsert_item(ItemRecord("r-1", "o-1", status="successful", started_at=T0, ended_at=T0))
    store.update_run("r-1", status="succeeded", ended_at=T0 + timedelta(minutes=1), error=None)
    run = store.get_run("r-1")
    assert (run.status, run.error, store.list_items("r-1")[0].status) == ("succeeded", None, "successful")
    assert store.list_items("r-1")[0].exception is None


def test_data_survives_closing_and_reopening_the_store(location):
    with open_run_store(location) as first:
        first.create_run(make_run("r-1"))
    with open_run_store(location) as second:
        assert second.get_run("r-1") is not None


def test_concurrent_writers_from_two_threads_do_not_lose_rows(location):
    """Two stores on the same database (two connections) write at once; every row arrives."""
    with open_run_store(location) as setup:
        setup.create_run(make_run("r-1"))
    stores = [open_run_store(location), open_run_store(location)]

    def write(worker: int) -> None:
        for index in range(60):
            seq = worker * 1000 + index
            stores[worker].add_step(StepRecord("r-1", seq, f"steps[{index}]", "passed"))
            stores[worker].upsert_item(ItemRecord("r-1", f"w{worker}-{index}"))
            stores[worker].update_run("r-1", items_total=index)

    threads = [threading.Thread(target=write, args=(worker,)) for worker in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for opened in stores:
        opened.close()
    with open_run_store(location) as check:
        assert len(check.list_steps("r-1")) == 120
        assert len(check.list_items("r-1")) == 120


def test_sqlite_store_uses_wal_and_creates_parent_folders(tmp_path):
    location = tmp_path / "deep" / "er" / "bastidor.db"
    store = open_run_store(location)
    assert isinstance(store, SqlRunStore) and location.is_file()
    with store.engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA busy_timeout")).scalar() >= 1000
    store.close()


def test_sqlite_url_is_used_as_given(tmp_path):
    store = open_run_store(f"sqlite:///{tmp_path / 'by-url.db'}")
    store.create_run(make_run("r-1"))
    store.close()
    assert (tmp_path / "by-url.db").is_file()
