"""The Textual app: screens for places, widgets for things, one app-wide clock."""
