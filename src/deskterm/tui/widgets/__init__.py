"""Reusable widgets: the virtual queue table and the SLA countdown."""
