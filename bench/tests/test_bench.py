"""A smoke run of the benchmark: every scenario end to end, in seconds, not minutes.

The figures themselves are not asserted (a shared CI machine makes them drift);
that the harness drives every scenario without an error, and the webhook burst and
invoices end with every order paid and invoiced once, is.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import require

BASE_DIR = Path(__file__).resolve().parent.parent.parent
SCENARIOS = [
    "floor",
    "home",
    "wines index",
    "country",
    "region",
    "wine",
    "search",
    "cart page (3 lines)",
    "cart api GET",
    "signed-in wine page",
    "wine page with a cart",
    "cart page (30 lines)",
    "cart add POST",
    "checkout POST",
    "uncached wine page",
    "uncached nothing kept",
    "sale day",
]


# The smoke run takes about a minute on an idle 2-core machine; CI's may be busy.
TIMEOUT = 900


def run_in_own_group(command, timeout):
    """Run ``command`` in a process group of its own and stop the whole group
    (gunicorn, its workers, the Celery worker, wrk) however the test ends."""
    process = subprocess.Popen(
        command,
        cwd=BASE_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    finally:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(process.pid, sig)
            except ProcessLookupError:
                break
            time.sleep(2)
        process.wait()
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


@pytest.mark.timeout(TIMEOUT + 60)
def test_make_bench_smoke_run(redis_url, tmp_path):
    require(shutil.which("wrk"), "needs wrk (Debian: apt-get install wrk)")
    require(
        os.environ.get("DATABASE_URL", "").startswith("postgres"),
        "needs PostgreSQL: set DATABASE_URL=postgres://…",
    )

    result = run_in_own_group(
        [
            sys.executable,
            "-m",
            "bench.run",
            *("--duration", "1", "--runs", "1", "--warmup", "1"),
            *("--wines", "6", "--growth-wines", "9"),
            *("--webhooks", "20", "--webhook-senders", "4", "--invoices", "2"),
            *("--checkout-carts", "3", "--connections", "4"),
            *("--work-dir", str(tmp_path / "work"), "--out-dir", str(tmp_path)),
            *("--name", "smoke"),
        ],
        timeout=TIMEOUT,
    )

    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    [path] = tmp_path.glob("smoke-*.json")
    report = json.loads(path.read_text())
    assert path.with_suffix(".png").stat().st_size > 0
    assert list(report["scenarios"]) == SCENARIOS
    for name, scenario in report["scenarios"].items():
        assert scenario["requests"] > 0, name
        assert scenario["errors"] == 0, name
        assert scenario["ratio"] > 0, name
    assert report["scenarios"]["floor"]["ratio"] == 1.0
    # the uncached servers render every time: the page's own queries, and with
    # nothing kept, the site's, the restrictions' and the related cards' as well
    uncached = report["scenarios"]["uncached wine page"]["queries"]
    assert 0 < uncached < report["scenarios"]["uncached nothing kept"]["queries"]
    assert report["scenarios"]["wine"]["queries"] == 0
    sale_day = report["scenarios"]["sale day"]
    assert sale_day["rate"] == round(sale_day["floor_rps"] * 0.5)
    assert (report["database"], report["redis"]) == ("postgresql", True)
    assert report["settings"] == "bench.settings"
    burst = report["webhook_burst"]
    assert (burst["events"], burst["unique"], burst["duplicates"]) == (21, 16, 4)
    assert (burst["unexpected_statuses"], burst["forged_rejected"]) == (0, 1)
    assert (burst["orders"], burst["orders_paid"], burst["stock_taken"]) == (8, 8, 8)
    assert burst["paid_transitions_per_order"] == [1]
    assert burst["double_fulfilments"] == 0
    invoices = report["invoices"]
    assert (invoices["orders"], invoices["invoices"], invoices["ready"]) == (2, 2, 2)
    assert (invoices["emailed"], invoices["attempts"]) == (2, [1])
    assert list(report["growth"]) == ["6", "9"]
    for size in report["growth"].values():
        assert set(size) == {"floor", "wines index", "country", "region", "search"}
    assert all(worker["peak_mb"] > 0 for worker in report["worker_memory"])
    assert "Cellar bench:" in result.stdout
    assert "webhook burst: 21 events" in result.stdout
