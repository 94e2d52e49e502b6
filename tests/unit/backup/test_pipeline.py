"""Every stage's exit status counts, not just the last one's."""
from __future__ import annotations

import io

import pytest

from mysql_backup.errors import StageFailed, TransientStageFailed
from mysql_backup.pipeline import Command, run_pipeline


def sh(name, script, **kw):
    return Command(name, ["sh", "-c", script], **kw)


def test_output_flows_and_taps_see_it():
    seen, out = [], []
    run_pipeline([sh("gen", "seq 1 50000", tap=lambda c: seen.append(bytes(c))), sh("count", "wc -l")],
                 sink=lambda c: out.append(bytes(c)))
    assert b"".join(out).strip() == b"50000"
    assert b"".join(seen).splitlines()[-1] == b"50000"


def test_a_failing_first_stage_fails_the_pipeline_even_if_the_last_succeeds():
    with pytest.raises(StageFailed, match=r"gen failed \(exit status 3\): boom"):
        run_pipeline([sh("gen", "echo data; echo boom >&2; exit 3"), sh("gzip", "gzip -c")], sink=lambda c: None)


def test_a_killed_stage_is_transient():
    with pytest.raises(TransientStageFailed, match="killed by signal SIGKILL"):
        run_pipeline([sh("gen", "echo x; kill -9 $$"), sh("cat", "cat")], sink=lambda c: None)


def test_mysql_lost_connection_is_transient_and_access_denied_is_not():
    with pytest.raises(TransientStageFailed):
        run_pipeline([sh("dump", "echo 'mariadb-dump: Got error: 2013: Lost connection' >&2; exit 2")])
    with pytest.raises(StageFailed):
        run_pipeline([sh("dump", "echo 'mariadb-dump: Got error: 1045: Access denied' >&2; exit 2")])


def test_sink_error_stops_every_stage_and_is_raised():
    def sink(chunk):
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space"):
        run_pipeline([sh("gen", "yes"), sh("cat", "cat")], sink=sink)  # `yes` never ends by itself


def test_feed_and_stderr_redaction():
    out = []
    errs = run_pipeline([sh("cat", "cat; echo 'secret-123 in error' >&2")], feed=io.BytesIO(b"abc"),
                        sink=lambda c: out.append(bytes(c)), redact=lambda t: t.replace("secret-123", "***"))
    assert b"".join(out) == b"abc" and errs["cat"].strip() == "*** in error"


def test_downstream_failure_is_reported_with_the_upstream_broken_pipe():
    with pytest.raises(StageFailed) as caught:
        run_pipeline([sh("gen", "yes"), sh("head", "head -c 10 >/dev/null; exit 4")])
    assert "head failed (exit status 4)" in str(caught.value)
    assert "gen stopped: broken pipe" in str(caught.value)
