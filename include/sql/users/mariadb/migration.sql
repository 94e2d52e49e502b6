-- Migration user (connection mysql_target): builds the schema from the Django models and
-- loads the rows, then runs the post-migration index and partition plans and ANALYZE TABLE.
-- Everything is confined to the application database: no other database, no global privilege.
-- LOAD DATA LOCAL INFILE needs no FILE privilege (the file is read by the client).
-- REFERENCES: MySQL 8 checks it when a foreign key is created; MariaDB accepts it.
GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, ALTER, INDEX, REFERENCES ON {database}.* TO {account};
