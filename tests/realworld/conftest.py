"""Collects what the examples did on each library and prints the table at the end of the run."""

from __future__ import annotations

import pytest

from .scenario import RecordExample

# path -> (status, detail, passes on securemq: True/False, or None if not run there)
_RESULTS: dict[str, tuple[str, str, bool | None]] = {}


@pytest.fixture
def record_example() -> RecordExample:
    def record(path: str, status: str, detail: str, securemq_ok: bool | None = None) -> None:
        _RESULTS[path] = (status, detail, securemq_ok)

    return record


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not _RESULTS:
        return
    write = terminalreporter.write_line
    terminalreporter.section("pyzmq 27.3.0 examples: pyzmq vs securemq")
    on_pyzmq = [p for p, (status, _, _) in _RESULTS.items() if status == "pyzmq passes"]
    both = [p for p in on_pyzmq if _RESULTS[p][2]]
    for path, (status, detail, securemq_ok) in sorted(_RESULTS.items()):
        smq = {True: "securemq passes", False: "securemq FAILS", None: ""}[securemq_ok]
        write(f"{path:48} {status:16} {smq:16} {detail}")
    write(f"{len(on_pyzmq)} examples pass on pyzmq; {len(both)} of them pass on securemq;"
          f" {sum(1 for s, _, _ in _RESULTS.values() if s == 'skipped')} skipped;"
          f" {sum(1 for s, _, _ in _RESULTS.values() if s == 'fails on pyzmq')} fail on pyzmq")
