"""Registration and login: argon2id hashes, and a per-username-and-client login throttle."""

from __future__ import annotations

import re
import time
import unicodedata
from dataclasses import dataclass
from datetime import timedelta

import anyio
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from engine.errors import Conflict, RateLimited, Unauthenticated, ValidationFailed
from engine.services.records import Role, User
from engine.services.stores import LoginFailureStore, UserStore

# OWASP's minimum for argon2id: m=19 MiB, t=2, p=1.
PASSWORD_HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
# Verified against when the username is unknown, so both failures cost the same time.
_DUMMY_HASH = PASSWORD_HASHER.hash("agentloom-timing-equaliser")

LOGIN_FAILED = "Incorrect username or password"
USERNAME_PATTERN = re.compile(r"^[^\s@:/]{3,64}$")
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})
"""Control, format (zero-width, bidi overrides), surrogate, private-use, unassigned:
characters that make two names look alike or break logs and terminals."""
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(kw_only=True, frozen=True)
class LoginPolicy:
    max_failures: int = 5
    """Failures per username and client inside `window` before logins answer 429."""
    window: timedelta = timedelta(minutes=5)


KNOWN_FOR_S = 30.0


class AccountService:
    def __init__(
        self,
        *,
        users: UserStore,
        failures: LoginFailureStore,
        policy: LoginPolicy | None = None,
        admin_usernames: frozenset[str] = frozenset(),
    ) -> None:
        self._users = users
        self._failures = failures
        self._policy = policy or LoginPolicy()
        self._admins = frozenset(name.lower() for name in admin_usernames)
        self._local: dict[str, User] = {}
        """Local-mode accounts by username, once found or created (see `local_user`)."""
        self._known: dict[str, float] = {}
        """User ids seen to exist, with when: a token's subject is checked at most once per
        `KNOWN_FOR_S` per process, not on every request."""

    async def register(self, *, username: str, email: str, password: str) -> User:
        username = username.strip()
        email = email.strip()
        if not USERNAME_PATTERN.match(username):
            raise ValidationFailed(
                "username must be 3-64 characters without spaces, '@', ':' or '/'",
                field="username",
            )
        if any(unicodedata.category(c) in _INVISIBLE_CATEGORIES for c in username):
            raise ValidationFailed(
                "username must not contain control or invisible formatting characters",
                field="username",
            )
        if not EMAIL_PATTERN.match(email):
            raise ValidationFailed("email is not a valid address", field="email")
        if len(password) < 8:
            raise ValidationFailed("password must be at least 8 characters", field="password")
        if len(password) > 1024:
            raise ValidationFailed("password must be at most 1024 characters", field="password")
        password_hash = await anyio.to_thread.run_sync(PASSWORD_HASHER.hash, password)
        role: Role = "admin" if username.lower() in self._admins else "user"
        user = User(username=username, email=email, role=role, password_hash=password_hash)
        await self._users.add(user)
        return user

    async def login(self, *, username: str, password: str, client: str) -> User:
        """Check the password; raises `RateLimited` or `Unauthenticated` (one generic message)."""
        key = f"{username.strip().lower()}|{client}"
        # Counted before the password is checked, in one atomic step: concurrent
        # attempts cannot all read "under the limit" and all get verified.
        if await self._failures.hit(key, self._policy.window) > self._policy.max_failures:
            raise RateLimited("Too many failed login attempts; try again later")
        user = await self._users.by_username(username.strip())
        stored_hash = user.password_hash if user else _DUMMY_HASH
        if not await anyio.to_thread.run_sync(_verify, stored_hash, password) or user is None:
            raise Unauthenticated(LOGIN_FAILED)
        await self._failures.clear(key)
        return user

    async def local_user(self, username: str) -> User:
        """The local-mode account (`AGENTLOOM_LOCAL_USER`), created on first use.

        It has no password (nobody can log in as it with one): only local-mode requests
        and the tokens or API keys they create act as it. An existing account with that
        name is used as it is.
        """
        found = self._local.get(username)
        if found is not None:
            return found
        user = await self._users.by_username(username)
        if user is None:
            role: Role = "admin" if username.lower() in self._admins else "user"
            created = User(username=username, email=f"{username}@localhost", role=role)
            try:
                await self._users.add(created)
                user = created
            except Conflict:  # two first requests raced; the other one created it
                user = await self._users.by_username(username)
        if user is None:
            raise Unauthenticated("the local user could not be created")
        self._local[username] = user
        return user

    async def user(self, user_id: str) -> User | None:
        return await self._users.by_id(user_id)

    async def exists(self, user_id: str) -> bool:
        """Whether the account exists; remembered for `KNOWN_FOR_S` (a removed account's
        tokens stop working within that time in every process)."""
        now = time.monotonic()
        seen = self._known.get(user_id)
        if seen is not None and now - seen < KNOWN_FOR_S:
            return True
        if await self._users.by_id(user_id) is None:
            self._known.pop(user_id, None)
            return False
        if len(self._known) > 100_000:
            self._known.clear()
        self._known[user_id] = now
        return True


def _verify(stored_hash: str, password: str) -> bool:
    try:
        return PASSWORD_HASHER.verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
