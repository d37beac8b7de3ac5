"""Customer e-mail in and out (issue 16): the ``[mail]`` settings, the outbox delivered by SMTP, and the
messages taken from a Maildir or an IMAP mailbox into tickets."""
