-- Reporting user (connection mysql_reporting): read-only, for analytics and the read replica.
GRANT SELECT ON {database}.* TO {account};
