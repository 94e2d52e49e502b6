"""The Cutover context: what every step of the cutover and the rollback works on."""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from sqlite_to_mysql.cutover import mysql_capture, sqlite_capture
from sqlite_to_mysql.cutover.catchup import ForwardSync
from sqlite_to_mysql.cutover.switch_actions import AppDatabase, SwitchConfig
from sqlite_to_mysql.plan import Plan


@dataclass
class Cutover:
    """Everything a step needs: both connections, the plan, the run, the switch settings."""

    src: sqlite3.Connection  # the application's SQLite file, opened read-write
    dst: object  # MySQL connection to the target database
    plan: Plan
    run_id: str
    config: SwitchConfig
    app_mysql: AppDatabase
    app_sqlite: AppDatabase
    batch_size: int = 2000

    def forward(self) -> ForwardSync:
        run = sqlite_capture.read_state(self.src).get("capture_run_id", self.run_id)
        return ForwardSync(self.src, self.dst, self.plan, batch_size=self.batch_size, quarantine_run_id=run)

    def record(self, step: str, seconds: float | None, detail: dict) -> None:
        mysql_capture.record(self.dst, self.run_id, step, seconds, detail)
