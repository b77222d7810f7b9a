"""Django's SQLite backend with a faster read path for datetimes (see ``base``)."""
