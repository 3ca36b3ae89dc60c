"""A signed-in user's role, read the same way everywhere. Knows nothing of pilots: what a role
may see or do on a pilot is decided by the pilots' access policy (`pilots.policy`)."""

from __future__ import annotations

from accounts.constants import Role


def role_of(user) -> str | None:
    """The user's role; None for the anonymous and the deactivated. A superuser is an
    administrator whatever role is written on the account."""
    if user is None or not user.is_authenticated or not user.is_active:
        return None
    if user.is_superuser:
        return Role.ADMIN
    return user.role or None


def is_office(user) -> bool:
    """The provincial office's staff and the system administrators."""
    return role_of(user) in (Role.OFFICE, Role.ADMIN)


def is_auditor(user) -> bool:
    """The security auditor reads the audit log and nothing else."""
    return role_of(user) == Role.AUDITOR
