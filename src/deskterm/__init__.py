"""deskterm: a terminal service desk."""
