"""Identity and administration RPCs of TenantServicer (a mixin: uses `self.sessions`, `self.settings`).

Each method: authz re-check → decode → one use case in one transaction → encode.
"""

from __future__ import annotations

import json
from datetime import timedelta

import grpc
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from kit.timestamps import timestamp_or_empty, timestamp_or_none
from tenant import audit, auth, authz, users
from tenant.config import Settings
from tenant.models import AuditEntry, User
from vellarys.tenant.v1 import tenant_pb2 as pb

ROLE_TO_PB = {
    "superadmin": pb.ROLE_SUPERADMIN,
    "admin": pb.ROLE_ADMIN,
    "seller": pb.ROLE_SELLER,
    "viewer": pb.ROLE_VIEWER,
}
PB_TO_ROLE: dict[int, str] = {int(v): k for k, v in ROLE_TO_PB.items()}


def encode_user(user: User) -> pb.User:
    return pb.User(
        id=str(user.id),
        tenant_id=str(user.tenant_id),
        email=user.email,
        name=user.name,
        role=ROLE_TO_PB[user.role],
        phone=user.phone,
        active=user.active,
        token_version=user.token_version,
        created_at=timestamp_or_empty(user.created_at),
        updated_at=timestamp_or_empty(user.updated_at),
        last_login_at=timestamp_or_none(user.last_login_at),
    )


def encode_audit(entry: AuditEntry) -> pb.AuditEntry:
    return pb.AuditEntry(
        id=entry.id,
        tenant_id=str(entry.tenant_id or ""),
        actor_id=str(entry.actor_id or ""),
        actor_email=entry.actor_email,
        action=entry.action,
        target_type=entry.target_type,
        target_id=entry.target_id,
        details_json=json.dumps(entry.details, ensure_ascii=False, default=str),
        source_ip=entry.source_ip,
        created_at=timestamp_or_empty(entry.created_at),
    )


def decode_role(role: int) -> str:
    # An unknown enum value reaches the use case as a name it rejects, naming the field.
    return PB_TO_ROLE.get(role, "" if role == pb.ROLE_UNSPECIFIED else f"role#{role}")


class IdentityRpcs:
    sessions: async_sessionmaker[AsyncSession]
    settings: Settings

    def _policy(self) -> auth.AuthPolicy:
        return auth.AuthPolicy(
            refresh_ttl=timedelta(days=self.settings.refresh_token_ttl_days),
            max_failures=self.settings.login_max_failures,
            failure_window=timedelta(seconds=self.settings.login_failure_window_seconds),
        )

    async def Login(self, request: pb.LoginRequest, context: grpc.aio.ServicerContext) -> pb.LoginResponse:
        async with self.sessions.begin() as session:
            outcome = await auth.login(
                session,
                self._policy(),
                email=request.email,
                password=request.password,
                source_ip=request.source_ip,
            )
        # Raised after the commit: the failure counter and audit entry must stay.
        if outcome.error or outcome.session is None:
            raise outcome.error or RuntimeError("login produced no session")
        s = outcome.session
        return pb.LoginResponse(
            user=encode_user(s.user),
            refresh_token=s.refresh_token,
            refresh_expires_at=timestamp_or_empty(s.refresh_expires_at),
        )

    async def Refresh(
        self, request: pb.RefreshRequest, context: grpc.aio.ServicerContext
    ) -> pb.RefreshResponse:
        async with self.sessions.begin() as session:
            outcome = await auth.refresh(session, self._policy(), refresh_token=request.refresh_token)
        if outcome.error or outcome.session is None:
            raise outcome.error or RuntimeError("refresh produced no session")
        s = outcome.session
        return pb.RefreshResponse(
            user=encode_user(s.user),
            refresh_token=s.refresh_token,
            refresh_expires_at=timestamp_or_empty(s.refresh_expires_at),
        )

    async def Logout(self, request: pb.LogoutRequest, context: grpc.aio.ServicerContext) -> pb.LogoutResponse:
        async with self.sessions.begin() as session:
            await auth.logout(session, refresh_token=request.refresh_token)
        return pb.LogoutResponse()

    async def GetPrincipal(
        self, request: pb.GetPrincipalRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetPrincipalResponse:
        async with self.sessions.begin() as session:
            user = await auth.get_principal(
                session, user_id=request.user_id, token_version=request.token_version
            )
            return pb.GetPrincipalResponse(user=encode_user(user))

    async def CreateUser(
        self, request: pb.CreateUserRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreateUserResponse:
        ctx = authz.require(authz.ADMINS)
        tenant_id = authz.tenant_scope(request.tenant_id)
        async with self.sessions.begin() as session:
            user, temporary = await users.create_user(
                session,
                tenant_id=tenant_id,
                email=request.email,
                name=request.name,
                role=decode_role(request.role),
                password=request.password,
                phone=request.phone,
                caller_role=ctx.role,
                source_ip=request.source_ip,
            )
            return pb.CreateUserResponse(user=encode_user(user), temporary_password=temporary)

    async def ListUsers(
        self, request: pb.ListUsersRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListUsersResponse:
        authz.require(authz.ADMINS)
        tenant_id = authz.tenant_scope(request.tenant_id)
        async with self.sessions.begin() as session:
            found, total = await users.list_users(session, tenant_id, request.limit, request.offset)
            return pb.ListUsersResponse(users=[encode_user(u) for u in found], total=total)

    async def GetUser(
        self, request: pb.GetUserRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetUserResponse:
        authz.require(authz.ADMINS)
        async with self.sessions.begin() as session:
            user = await users.get_user(session, request.user_id, authz.object_scope())
            return pb.GetUserResponse(user=encode_user(user))

    async def UpdateUser(
        self, request: pb.UpdateUserRequest, context: grpc.aio.ServicerContext
    ) -> pb.UpdateUserResponse:
        ctx = authz.require(authz.ADMINS)
        changes = users.UserChanges(
            name=request.name if request.HasField("name") else None,
            role=decode_role(request.role) if request.role else None,
            phone=request.phone if request.HasField("phone") else None,
            active=request.active if request.HasField("active") else None,
        )
        async with self.sessions.begin() as session:
            user = await users.update_user(
                session,
                request.user_id,
                authz.object_scope(),
                changes,
                caller_role=ctx.role,
                source_ip=request.source_ip,
            )
            return pb.UpdateUserResponse(user=encode_user(user))

    async def DeactivateUser(
        self, request: pb.DeactivateUserRequest, context: grpc.aio.ServicerContext
    ) -> pb.DeactivateUserResponse:
        ctx = authz.require(authz.ADMINS)
        async with self.sessions.begin() as session:
            user = await users.update_user(
                session,
                request.user_id,
                authz.object_scope(),
                users.UserChanges(active=False),
                caller_role=ctx.role,
                source_ip=request.source_ip,
            )
            return pb.DeactivateUserResponse(user=encode_user(user))

    async def ResetPassword(
        self, request: pb.ResetPasswordRequest, context: grpc.aio.ServicerContext
    ) -> pb.ResetPasswordResponse:
        authz.require(authz.ADMINS)
        async with self.sessions.begin() as session:
            user, temporary = await users.reset_password(
                session, request.user_id, authz.object_scope(), request.password, source_ip=request.source_ip
            )
            return pb.ResetPasswordResponse(user=encode_user(user), temporary_password=temporary)

    async def ListAudit(
        self, request: pb.ListAuditRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListAuditResponse:
        ctx = authz.require(authz.ADMINS)
        # The superadmin without a filter sees every tenant's entries.
        everyone = ctx.role == authz.SUPERADMIN and not request.tenant_id
        tenant_id = None if everyone else authz.tenant_scope(request.tenant_id)
        async with self.sessions.begin() as session:
            entries, next_id = await audit.list_entries(session, tenant_id, request.limit, request.before_id)
            return pb.ListAuditResponse(entries=[encode_audit(e) for e in entries], next_before_id=next_id)
