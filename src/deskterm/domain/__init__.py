"""Pure rules of the service desk: calendars, SLA timers, workflow, priority.

Nothing here does I/O or imports Textual or SQLAlchemy (tests/unit/test_import_hygiene.py keeps it so).
Instants are whole seconds since the Unix epoch (UTC) so that arithmetic is exact and fast.
"""
