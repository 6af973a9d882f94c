"""The incident store: SQLite, the only code that touches the database."""
