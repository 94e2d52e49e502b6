"""The differential fuzzer: random SQLite databases (declared types real and made up, every
affinity, composite keys, WITHOUT ROWID, no key, near-duplicate unique values; values of every
storage class and the forms real writers leave) migrated into the real MariaDB under each
conflict policy, every value read back and compared with SQLite (tests/support/fidelity.py).

`make test` runs a bounded number of examples; `make fuzz` runs FUZZ_EXAMPLES (10,000 by
default) with the seed it prints. A failing example Hypothesis finds becomes a fixed case in
test_fidelity_regressions.py.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from support import fidelity

pytestmark = [pytest.mark.integration, pytest.mark.slow]  # a few minutes: behind make test, not test-fast

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "200"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None, print_blob=True,
                suppress_health_check=list(HealthCheck))


@FUZZ
@given(db=fidelity.databases(), method=st.sampled_from(["load_data", "insert"]))
def test_every_policy_keeps_its_contract_on_any_sqlite_database(mysql_params, db, method):
    with tempfile.TemporaryDirectory(prefix="fuzz-") as tmp:
        path = fidelity.build(Path(tmp) / "source.sqlite3", db)
        problems = fidelity.check_contract(path, mysql_params, Path(tmp), method=method)
        assert not problems, "\n".join(problems) + "\n\nsource:\n" + db.describe()


@settings(FUZZ, max_examples=max(20, EXAMPLES // 3))
@given(db=fidelity.databases(), policy=st.sampled_from(["fail", "widen", "quarantine"]))
def test_values_written_during_capture_arrive_by_catch_up_as_the_copy_brings_them(mysql_params, db, policy):
    """The cutover path: the same generated values, deleted and written again by the
    application while capture runs, reach MySQL through the catch-up under the same contract
    (equivalent values, quarantined rows exact, counts adding up, verification clean)."""
    with tempfile.TemporaryDirectory(prefix="fuzz-") as tmp:
        path = fidelity.build(Path(tmp) / "source.sqlite3", db)
        problems = fidelity.check_catch_up(path, mysql_params, policy)
        assert not problems, "\n".join(problems) + "\n\nsource:\n" + db.describe()
