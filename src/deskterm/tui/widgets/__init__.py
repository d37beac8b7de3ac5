"""Reusable widgets: the virtual queue table, the SLA countdown, the timeline and a line updated only on change."""
