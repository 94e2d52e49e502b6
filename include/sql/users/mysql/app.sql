-- Application user (connection mysql_app): the Django app reads and writes rows, nothing else.
-- No CREATE/ALTER/DROP/INDEX (schema changes go through the migration user), which also
-- refuses TRUNCATE (it needs DROP). SELECT ... FOR UPDATE works with SELECT + UPDATE.
GRANT SELECT, INSERT, UPDATE, DELETE ON {database}.* TO {account};
