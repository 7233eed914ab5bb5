"""The database side: the connection pool, the table base, migrations, the embedded server."""
