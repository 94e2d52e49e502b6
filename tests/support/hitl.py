"""Answering an approval gate of an `airflow dags test` run, as a person would.

`airflow dags test` parks a human-in-the-loop task and waits until a response recorded from
outside resumes it (Airflow 3.3). Without an api-server, the answer goes through the very
function behind `PATCH .../taskInstances/{task}/-1/hitlDetails` (the Required Actions button and
the REST API both end there), in a process that shares the run's metadata database:

    python -m tests.support.hitl <dag_id> <task_id> Approve|Reject [user]

`dags_test(...)` runs the DAG and answers its gates in order.
"""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def answer(dag_id: str, task_id: str, choice: str, user: str = "admin", timeout: float = 600) -> str:
    """Wait for `task_id` to await input, then answer it; returns the run id."""
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
    from airflow.api_fastapi.core_api.datamodels.hitl import UpdateHITLDetailPayload
    from airflow.api_fastapi.core_api.routes.public.hitl import update_hitl_detail
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from airflow.utils.state import TaskInstanceState
    from sqlalchemy import select
    from sqlalchemy.orm import joinedload

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with create_session() as session:
            ti = session.scalar(select(TaskInstance).where(
                TaskInstance.dag_id == dag_id, TaskInstance.task_id == task_id,
                TaskInstance.state == TaskInstanceState.AWAITING_INPUT).options(
                    joinedload(TaskInstance.hitl_detail)))
            if ti is not None and ti.hitl_detail is not None:
                update_hitl_detail(dag_id=dag_id, dag_run_id=ti.run_id, task_id=task_id,
                                   update_hitl_detail_payload=UpdateHITLDetailPayload(chosen_options=[choice]),
                                   user=SimpleAuthManagerUser(username=user, role="admin"), session=session)
                return ti.run_id
        time.sleep(1)
    raise TimeoutError(f"{dag_id}.{task_id} did not await input within {timeout:.0f}s")


def dags_test(dag_id: str, conf: dict, env: dict, answers: list[tuple[str, str]] = (),
              timeout: float = 600) -> subprocess.CompletedProcess:
    """`airflow dags test dag_id -c conf`, answering each (gate task, choice) when it asks."""
    # Files, not pipes: a pipe nobody reads while the run waits for its answer fills up and
    # blocks the run's logging, and with it the run.
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen([str(ROOT / ".venv/bin/airflow"), "dags", "test", dag_id, "-c", json.dumps(conf)],
                                env=env, stdout=out, stderr=err, text=True)
        try:
            for task_id, choice in answers:
                answerer = subprocess.Popen([sys.executable, "-m", "tests.support.hitl", dag_id, task_id, choice],
                                            env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                            text=True)
                while answerer.poll() is None and proc.poll() is None:
                    time.sleep(0.5)
                if answerer.poll() is None:  # the run ended before it asked
                    answerer.kill()
                    answerer.communicate()
                    break
                if answerer.returncode != 0:
                    raise AssertionError(f"could not answer {task_id}: {answerer.communicate()[1][-3000:]}")
            proc.wait(timeout=timeout)
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        out.seek(0)
        err.seek(0)
        return subprocess.CompletedProcess(proc.args, proc.returncode, out.read(), err.read())


if __name__ == "__main__":
    print(answer(*sys.argv[1:4], *(sys.argv[4:5] or [])))
