"""Accounts over GraphQL: register, login, me."""

from __future__ import annotations

from datetime import datetime

import strawberry

from engine.services.records import User
from graph.context import Context


@strawberry.type(name="User")
class UserType:
    id: strawberry.ID
    username: str
    email: str
    role: str
    created_at: datetime

    @classmethod
    def of(cls, user: User) -> UserType:
        # Built field by field so a password hash can never ride along.
        return cls(
            id=strawberry.ID(user.id),
            username=user.username,
            email=user.email,
            role=user.role,
            created_at=user.created_at,
        )


@strawberry.type
class AuthPayload:
    access_token: str
    token_type: str
    user: UserType


@strawberry.input
class RegisterInput:
    username: str
    email: str
    password: str


@strawberry.type
class AccountQuery:
    @strawberry.field(description="The authenticated user.")
    async def me(self, info: strawberry.Info[Context, None]) -> UserType:
        return UserType.of(await info.context.user())


@strawberry.type
class AccountMutation:
    @strawberry.mutation(description="Create an account (role `user`).")
    async def register(
        self, info: strawberry.Info[Context, None], input: RegisterInput
    ) -> UserType:
        user = await info.context.services.accounts.register(
            username=input.username, email=input.email, password=input.password
        )
        return UserType.of(user)

    @strawberry.mutation(description="Exchange a username and password for a bearer token.")
    async def login(
        self, info: strawberry.Info[Context, None], username: str, password: str
    ) -> AuthPayload:
        services = info.context.services
        user = await services.accounts.login(
            username=username, password=password, client=info.context.client
        )
        token = services.tokens.issue(user_id=user.id, role=user.role)
        return AuthPayload(access_token=token, token_type="bearer", user=UserType.of(user))  # noqa: S106
