"""The workload tests report their figures at the end of the run (never asserted as timings)."""
from __future__ import annotations

import pytest

REPORTS = pytest.StashKey[list]()


@pytest.fixture
def report_figures(request):
    """report_figures(title, markdown): printed in the terminal summary."""
    reports = request.config.stash.setdefault(REPORTS, [])
    return lambda title, text: reports.append((title, text))


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    for title, text in config.stash.get(REPORTS, []):
        terminalreporter.section(title)
        terminalreporter.write(text)
