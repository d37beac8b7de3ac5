"""The machine's accounts: the members of a unix group (an opt-in source of the directory of agents)."""

from __future__ import annotations


def unix_group_members(name: str) -> tuple[str, ...]:
    """The accounts of unix group ``name``: its listed members and the users whose primary group it is.
    An unknown group has none (the configuration names it; the machine may not have it yet)."""
    import grp
    import pwd

    try:
        group = grp.getgrnam(name)
    except KeyError:
        return ()
    members = set(group.gr_mem)
    try:
        members.update(p.pw_name for p in pwd.getpwall() if p.pw_gid == group.gr_gid)
    except OSError:
        pass
    return tuple(sorted(members))
