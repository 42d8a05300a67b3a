"""Users of a tenant: admins manage their own tenant's, the superadmin any (``?tenant_id=``)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from gateway.auth import ROLE_NAMES, Principal, require_roles, source_ip
from vellarys.tenant.v1 import tenant_pb2 as pb

router = APIRouter(prefix="/api/v1/users", tags=["users"])
admins = require_roles("superadmin", "admin")
Role = Literal["superadmin", "admin", "seller", "viewer"]
ROLE_TO_PB = {name: value for value, name in ROLE_NAMES.items()}
PHONE = r"^\+[1-9][0-9]{7,14}$"


class UserOut(BaseModel):
    id: str
    tenant_id: str
    email: str
    name: str
    role: str
    phone: str
    active: bool
    created_at: datetime | None
    updated_at: datetime | None
    last_login_at: datetime | None


def when(message: pb.User, field: str) -> datetime | None:
    return getattr(message, field).ToDatetime(tzinfo=None) if message.HasField(field) else None


def user_out(user: pb.User) -> UserOut:
    return UserOut(
        id=user.id,
        tenant_id=user.tenant_id,
        email=user.email,
        name=user.name,
        role=ROLE_NAMES.get(user.role, ""),
        phone=user.phone,
        active=user.active,
        created_at=when(user, "created_at"),
        updated_at=when(user, "updated_at"),
        last_login_at=when(user, "last_login_at"),
    )


class UserCreate(BaseModel):
    email: str = Field(max_length=254, examples=["corretor@imobiliaria.com.br"])
    name: str = Field(min_length=1, max_length=200)
    role: Role = "seller"
    password: str | None = Field(
        default=None, min_length=12, max_length=256, description="Omit to get a one-time temporary password"
    )
    phone: str = Field(
        default="", max_length=20, description="E.164, the seller's WhatsApp for notifications"
    )


class UserUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    role: Role | None = None
    phone: str | None = Field(default=None, max_length=20)
    active: bool | None = None


class PasswordReset(BaseModel):
    password: str | None = Field(
        default=None, min_length=12, max_length=256, description="Omit to get a one-time temporary password"
    )


class UserWithPassword(BaseModel):
    user: UserOut
    temporary_password: str | None = Field(default=None, description="Shown once; never stored in clear")


class UserPage(BaseModel):
    items: list[UserOut]
    total: int
    limit: int
    offset: int


@router.get("", summary="List the tenant's users")
async def list_users(
    request: Request,
    tenant_id: uuid.UUID | None = Query(default=None, description="Superadmin only: another tenant"),
    limit: int = Query(default=50, ge=1, le=200),
    offset: int = Query(default=0, ge=0),
    principal: Principal = Depends(admins),
) -> UserPage:
    reply = await request.app.state.clients.tenant.ListUsers(
        pb.ListUsersRequest(tenant_id=str(tenant_id or ""), limit=limit, offset=offset),
        metadata=principal.metadata(),
    )
    return UserPage(items=[user_out(u) for u in reply.users], total=reply.total, limit=limit, offset=offset)


@router.post("", status_code=201, summary="Create a user")
async def create_user(
    body: UserCreate,
    request: Request,
    tenant_id: uuid.UUID | None = Query(default=None, description="Superadmin only: another tenant"),
    principal: Principal = Depends(admins),
) -> UserWithPassword:
    reply = await request.app.state.clients.tenant.CreateUser(
        pb.CreateUserRequest(
            tenant_id=str(tenant_id or ""),
            email=body.email,
            name=body.name,
            role=ROLE_TO_PB[body.role],
            password=body.password or "",
            phone=body.phone,
            source_ip=source_ip(request),
        ),
        metadata=principal.metadata(),
    )
    return UserWithPassword(user=user_out(reply.user), temporary_password=reply.temporary_password or None)


@router.get("/{user_id}", summary="Get a user")
async def get_user(user_id: uuid.UUID, request: Request, principal: Principal = Depends(admins)) -> UserOut:
    reply = await request.app.state.clients.tenant.GetUser(
        pb.GetUserRequest(user_id=str(user_id)), metadata=principal.metadata()
    )
    return user_out(reply.user)


@router.patch("/{user_id}", summary="Update name, role, phone or active")
async def update_user(
    user_id: uuid.UUID, body: UserUpdate, request: Request, principal: Principal = Depends(admins)
) -> UserOut:
    message = pb.UpdateUserRequest(user_id=str(user_id), source_ip=source_ip(request))
    if body.name is not None:
        message.name = body.name
    if body.role is not None:
        message.role = ROLE_TO_PB[body.role]
    if body.phone is not None:
        message.phone = body.phone
    if body.active is not None:
        message.active = body.active
    reply = await request.app.state.clients.tenant.UpdateUser(message, metadata=principal.metadata())
    request.app.state.principals.forget(user_id=reply.user.id)
    return user_out(reply.user)


@router.post("/{user_id}/deactivate", summary="Deactivate a user (their tokens stop working at once)")
async def deactivate_user(
    user_id: uuid.UUID, request: Request, principal: Principal = Depends(admins)
) -> UserOut:
    reply = await request.app.state.clients.tenant.DeactivateUser(
        pb.DeactivateUserRequest(user_id=str(user_id), source_ip=source_ip(request)),
        metadata=principal.metadata(),
    )
    request.app.state.principals.forget(user_id=reply.user.id)
    return user_out(reply.user)


@router.post("/{user_id}/reset-password", summary="Set a password or get a one-time temporary one")
async def reset_password(
    user_id: uuid.UUID,
    request: Request,
    body: PasswordReset | None = None,
    principal: Principal = Depends(admins),
) -> UserWithPassword:
    reply = await request.app.state.clients.tenant.ResetPassword(
        pb.ResetPasswordRequest(
            user_id=str(user_id),
            password=(body.password if body else None) or "",
            source_ip=source_ip(request),
        ),
        metadata=principal.metadata(),
    )
    request.app.state.principals.forget(user_id=reply.user.id)
    return UserWithPassword(user=user_out(reply.user), temporary_password=reply.temporary_password or None)
