"""Accounts over GraphQL: register, log in, who am I."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry

from engine.services.records import User
from graph.context import Context
from graph.conventions import Node, UserError
from graph.payloads import attempt

Info = strawberry.Info[Context, None]


@strawberry.enum(description="What an account may do.")
class Role(Enum):
    USER = strawberry.enum_value("user", description="Works with their own objects.")
    ADMIN = strawberry.enum_value("admin", description="May also read others' figures.")


@strawberry.type(name="User", description="An account.")
class UserType(Node):
    id: strawberry.ID = strawberry.field(description="The account's id.")
    username: str = strawberry.field(description="The login name.")
    email: str = strawberry.field(description="The email address.")
    role: Role = strawberry.field(description="What the account may do.")
    created_at: datetime = strawberry.field(description="When it was registered.")

    @classmethod
    def of(cls, user: User) -> UserType:
        # Built field by field so a password hash can never ride along.
        return cls(
            id=strawberry.ID(user.id),
            username=user.username,
            email=user.email,
            role=Role(user.role),
            created_at=user.created_at,
        )


@strawberry.input(description="A new account.")
class RegisterInput:
    username: str = strawberry.field(description="The login name (unique, any case).")
    email: str = strawberry.field(description="An email address.")
    password: str = strawberry.field(description="At least 8 characters.")


@strawberry.input(description="Credentials to exchange for a bearer token.")
class LoginInput:
    username: str = strawberry.field(description="The login name.")
    password: str = strawberry.field(description="The password.")


@strawberry.type(description="What `register` answers.")
class RegisterPayload:
    user: UserType | None = strawberry.field(description="The new account, unless userErrors.")
    user_errors: list[UserError] = strawberry.field(description="What to fix in the input.")


@strawberry.type(description="What `login` answers (wrong credentials are UNAUTHENTICATED).")
class LoginPayload:
    access_token: str = strawberry.field(description="Send as `Authorization: Bearer <token>`.")
    token_type: str = strawberry.field(description="Always `bearer`.")
    user: UserType = strawberry.field(description="Who logged in.")
    user_errors: list[UserError] = strawberry.field(
        description="Always empty: a login has no input to fix, only credentials that are "
        "wrong (UNAUTHENTICATED) or tried too often (RATE_LIMITED). Here so that every "
        "payload reads alike."
    )


@strawberry.type
class AccountQuery:
    @strawberry.field(description="The authenticated account.")
    async def me(self, info: Info) -> UserType:
        return UserType.of(await info.context.user())


@strawberry.type
class AccountMutation:
    @strawberry.mutation(description="Create an account (role USER unless configured admin).")
    async def register(self, info: Info, input: RegisterInput) -> RegisterPayload:
        accounts = info.context.services.accounts
        user, errors = await attempt(
            lambda: accounts.register(
                username=input.username, email=input.email, password=input.password
            )
        )
        return RegisterPayload(user=UserType.of(user) if user else None, user_errors=errors)

    @strawberry.mutation(description="Exchange a username and password for a bearer token.")
    async def login(self, info: Info, input: LoginInput) -> LoginPayload:
        services = info.context.services
        user = await services.accounts.login(
            username=input.username, password=input.password, client=info.context.client
        )
        token = services.tokens.issue(user_id=user.id, role=user.role)
        return LoginPayload(
            access_token=token,
            token_type="bearer",  # noqa: S106 - the scheme's name, not a secret
            user=UserType.of(user),
            user_errors=[],
        )
