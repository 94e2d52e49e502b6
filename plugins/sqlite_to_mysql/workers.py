"""Work spread over threads that each hold connections of their own: SQLite and the MySQL
client release the GIL while they work, so two threads keep both cores busy."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor


def map_with_connections(open_connections, work, items: list, *, workers: int = 2) -> list:
    """[work(connections, item) for item in items] on `workers` threads, results in the order
    of items. Each thread calls open_connections() once (a connection or a tuple of them);
    every connection opened is closed at the end, also after a failure."""
    local = threading.local()
    opened: list = []
    lock = threading.Lock()

    def run(item):
        if not hasattr(local, "connections"):
            local.connections = open_connections()
            with lock:
                opened.append(local.connections)
        return work(local.connections, item)

    try:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="worker") as pool:
            return list(pool.map(run, items))
    finally:
        for connections in opened:
            for conn in connections if isinstance(connections, tuple) else (connections,):
                conn.close()
