"""Access tokens: HS256 JWTs with the algorithm pinned and `exp`, `iss`, `aud` required."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

from engine.errors import Unauthenticated

ALGORITHM = "HS256"
ISSUER = "agentloom"
AUDIENCE = "agentloom-api"


@dataclass(kw_only=True, frozen=True)
class TokenClaims:
    subject: str
    """The user id."""
    role: str
    expires_at: float | None = None
    """When the token stops being valid (`exp`, seconds since the epoch): open sockets
    re-check it then (graph/credential_watch.py)."""


@dataclass(kw_only=True, frozen=True)
class TokenService:
    secret: str
    ttl: timedelta = timedelta(hours=24)

    def issue(self, *, user_id: str, role: str) -> str:
        now = datetime.now(UTC)
        claims = {
            "sub": user_id,
            "role": role,
            "iss": ISSUER,
            "aud": AUDIENCE,
            "iat": now,
            "exp": now + self.ttl,
        }
        return jwt.encode(claims, self.secret, algorithm=ALGORITHM)

    def subject(self, token: str) -> str:
        """The user id a valid token names; anything else is `Unauthenticated`."""
        return self.claims(token).subject

    def claims(self, token: str) -> TokenClaims:
        """Who a valid token names, and their role; anything else is `Unauthenticated`.

        Only HS256 is accepted, so `alg: none` and algorithm-confusion tokens fail.
        """
        try:
            claims = jwt.decode(
                token,
                self.secret,
                algorithms=[ALGORITHM],
                audience=AUDIENCE,
                issuer=ISSUER,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthenticated("Token has expired") from exc
        except jwt.PyJWTError as exc:
            raise Unauthenticated("Could not validate credentials") from exc
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject:
            raise Unauthenticated("Could not validate credentials")
        role = claims.get("role")
        expiry = claims.get("exp")
        return TokenClaims(
            subject=subject,
            role=role if role in ("user", "admin") else "user",
            expires_at=float(expiry) if isinstance(expiry, int | float) else None,
        )
