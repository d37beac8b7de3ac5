"""Persistence: SQLModel tables, engine set-up, migrations and read queries.

Nothing outside ``store`` and ``service`` writes SQL; the TUI reads through ``queries`` and changes
tickets through ``deskterm.service``.
"""
