"""The cutover: the application moves from SQLite to MySQL with a write freeze of seconds,
and back (rollback) with every write it made on MySQL. Built on the migration (the plan, its
verification); the migration never imports from here.

- context: the Cutover every step works on (both connections, the plan, the switch settings);
- sqlite_capture / mysql_capture: triggers that log the application's writes on each side,
  and the cutover's state (its phase) kept in the SQLite file;
- catchup: applies logged changes to the other side (ForwardSync, BackwardSync);
- freeze: timed write freezes and permanent guards, on either side;
- verification: checksums while the application writes, the check inside the freeze;
- switch_actions: what points the application at a database (settings file, command, webhook);
- forward: prepare -> catch_up -> verify_live -> freeze_and_switch;
- return_to_sqlite: the way back, shared by the rollback, a failed switch and release;
- rollback: the rollback DAG's steps and the end of the rollback window (cleanup);
- release: whatever a step cut short left behind, resolved by its phase;
- report: the reports' key figures and Markdown; errors: the cutover's error codes.
"""
