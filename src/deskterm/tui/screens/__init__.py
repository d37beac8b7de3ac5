"""Screens: one per place an agent goes (the queue, a ticket, small dialogs)."""
