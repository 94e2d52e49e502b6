"""Run a chain of commands connected by pipes, and check every one of them.

`a | b | c` in a shell reports c's status only; a dump killed halfway then looks like a
short but successful backup. Here every command's exit status is checked, its stderr kept
(redacted) for the error message, and Python can watch a stream between two commands
(`tap`) or consume the last one (`sink`) without a temporary file.
"""
from __future__ import annotations

import re
import signal
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from typing import BinaryIO, Callable

from mysql_common.errors import TRANSIENT_MYSQL_ERRORS

from mysql_backup.errors import StageFailed, TransientStageFailed

CHUNK = 1024 * 1024
_ERRNO = re.compile(r"\b(?:error|ERROR|Error)[: ]+(?:\w+: )?(\d{4})\b")


@dataclass
class Command:
    name: str
    argv: list[str]
    tap: Callable[[memoryview], None] | None = None  # sees stdout on its way to the next command
    pass_fds: tuple[int, ...] = ()
    env: dict[str, str] | None = None


class _Run:
    def __init__(self, commands: list[Command], redact: Callable[[str], str]):
        self.commands = commands
        self.redact = redact
        self.procs: list[subprocess.Popen] = []
        self.stderr = [tempfile.TemporaryFile() for _ in commands]
        self.threads: list[threading.Thread] = []
        self.error: BaseException | None = None
        self.lock = threading.Lock()

    def fail(self, exc: BaseException) -> None:
        with self.lock:
            if self.error is None:
                self.error = exc
        self.kill()

    def kill(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()

    def thread(self, target, *args) -> None:
        def guarded():
            try:
                target(*args)
            except BaseException as exc:  # reported by the main thread after joining
                self.fail(exc)

        worker = threading.Thread(target=guarded, daemon=True)
        worker.start()
        self.threads.append(worker)


def _copy(reader: BinaryIO, writer: BinaryIO | None, tap: Callable[[memoryview], None] | None) -> None:
    """Copy reader to writer, showing every chunk to tap. A closed writer (its command died)
    ends the copy; closing the reader then stops the command upstream (SIGPIPE)."""
    buffer = bytearray(CHUNK)
    view = memoryview(buffer)
    try:
        while True:
            count = reader.readinto(buffer)
            if not count:
                break
            if tap is not None:
                tap(view[:count])
            if writer is not None:
                writer.write(view[:count])
    except BrokenPipeError:
        pass  # the command downstream exited; its exit status tells why
    finally:
        reader.close()
        if writer is not None:
            try:
                writer.close()
            except BrokenPipeError:
                pass


def run_pipeline(commands: list[Command], *, stdin: BinaryIO | None = None, feed: BinaryIO | None = None,
                 sink: Callable[[memoryview], None] | None = None,
                 redact: Callable[[str], str] = lambda text: text) -> dict[str, str]:
    """Run `commands[0] | commands[1] | ...`; return each command's stderr (redacted).

    stdin: a real file given to the first command as is; feed: a Python stream copied into it.
    sink: called with every chunk of the last command's stdout (else that stdout is discarded).
    Raises the first Python-side error (tap, sink, feed), else a StageFailed naming every
    command that failed, with its exit status and the end of its stderr.
    """
    run = _Run(commands, redact)
    try:
        previous_stdout = stdin if stdin is not None else (subprocess.PIPE if feed else subprocess.DEVNULL)
        for position, command in enumerate(commands):
            is_last = position == len(commands) - 1
            stdout = subprocess.PIPE if (command.tap or not is_last or sink) else subprocess.DEVNULL
            proc = subprocess.Popen(command.argv, stdin=previous_stdout, stdout=stdout,
                                    stderr=run.stderr[position], pass_fds=command.pass_fds,
                                    env=command.env, start_new_session=True)
            run.procs.append(proc)
            if position == 0 and feed is not None:
                run.thread(_copy, feed, proc.stdin, None)
            elif position > 0:
                upstream = run.procs[position - 1]
                if commands[position - 1].tap:
                    run.thread(_copy, upstream.stdout, proc.stdin, commands[position - 1].tap)
                else:
                    upstream.stdout.close()  # the child holds it now
            previous_stdout = subprocess.PIPE if command.tap else proc.stdout
        final = run.procs[-1]
        if commands[-1].tap:
            run.thread(_copy, final.stdout, None, commands[-1].tap)
        elif sink is not None:
            _copy(final.stdout, None, sink)
    except BaseException as exc:
        run.fail(exc)
    finally:
        for proc in run.procs:
            proc.wait()
        for worker in run.threads:
            worker.join()
    if run.error is not None:
        for err in run.stderr:
            err.close()
        raise run.error
    return _check(run)


def _check(run: _Run) -> dict[str, str]:
    texts = {}
    failures = []
    transient = False
    for command, proc, err in zip(run.commands, run.procs, run.stderr):
        err.seek(0)
        text = run.redact(err.read().decode("utf-8", "replace"))
        err.close()
        texts[command.name] = text
        code = proc.returncode
        if code == 0:
            continue
        if code < 0 and code != -signal.SIGPIPE:
            transient = True  # killed (OOM killer, operator, timeout): worth another try
            reason = f"killed by signal {signal.Signals(-code).name}"
        elif code in (-signal.SIGPIPE, 141) or "errno 32" in text:
            failures.append(f"{command.name} stopped: broken pipe (a later stage stopped reading)")
            continue
        else:
            reason = f"exit status {code}"
        numbers = {int(n) for n in _ERRNO.findall(text)}
        transient = transient or bool(numbers & TRANSIENT_MYSQL_ERRORS)
        tail = text.strip()[-1500:] or "no error output"
        failures.append(f"{command.name} failed ({reason}): {tail}")
    if failures:
        message = "; ".join(failures)
        raise (TransientStageFailed if transient else StageFailed)(message)
    return texts
