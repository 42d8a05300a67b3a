"""Login, token refresh, logout and the current user."""

from __future__ import annotations

import re

import grpc
from fastapi import APIRouter, Depends, HTTPException, Request, Response
from pydantic import BaseModel, Field

from gateway.auth import ACCESS_TOKEN_SECONDS, Principal, require_roles, source_ip
from gateway.routes.users import UserOut, user_out
from kit.context import CallContext
from vellarys.tenant.v1 import tenant_pb2 as pb

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


class LoginBody(BaseModel):
    email: str = Field(min_length=3, max_length=254, examples=["admin@vellarys.local"])
    password: str = Field(min_length=1, max_length=256)


class RefreshBody(BaseModel):
    refresh_token: str = Field(min_length=1, max_length=200)


class TokenPair(BaseModel):
    access_token: str
    refresh_token: str
    token_type: str = "bearer"  # noqa: S105 (the OAuth2 token type, not a secret)
    expires_in: int = Field(description="Seconds until the access token expires")
    user: UserOut


def _pair(request: Request, user: pb.User, refresh_token: str) -> TokenPair:
    access = request.app.state.tokens.mint(user)
    return TokenPair(
        access_token=access, refresh_token=refresh_token, expires_in=ACCESS_TOKEN_SECONDS, user=user_out(user)
    )


def _anonymous(request: Request) -> tuple[tuple[str, str], ...]:
    return CallContext(request_id=request.state.request_id).metadata()


@router.post(
    "/login",
    summary="Exchange email and password for an access token and a refresh token",
    responses={401: {"description": "invalid email or password"}, 429: {"description": "too many failures"}},
)
async def login(body: LoginBody, request: Request) -> TokenPair:
    try:
        reply = await request.app.state.clients.tenant.Login(
            pb.LoginRequest(email=body.email, password=body.password, source_ip=source_ip(request)),
            metadata=_anonymous(request),
        )
    except grpc.aio.AioRpcError as error:
        if error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED:
            found = re.search(r"retry after (\d+)", error.details() or "")
            headers = {"Retry-After": found.group(1)} if found else None
            raise HTTPException(429, error.details() or "too many failed logins", headers=headers) from None
        raise
    return _pair(request, reply.user, reply.refresh_token)


@router.post("/refresh", summary="Rotate the refresh token and get a new access token")
async def refresh(body: RefreshBody, request: Request) -> TokenPair:
    reply = await request.app.state.clients.tenant.Refresh(
        pb.RefreshRequest(refresh_token=body.refresh_token, source_ip=source_ip(request)),
        metadata=_anonymous(request),
    )
    return _pair(request, reply.user, reply.refresh_token)


@router.post("/logout", status_code=204, summary="End the refresh token's session")
async def logout(body: RefreshBody, request: Request) -> Response:
    await request.app.state.clients.tenant.Logout(
        pb.LogoutRequest(refresh_token=body.refresh_token, source_ip=source_ip(request)),
        metadata=_anonymous(request),
    )
    return Response(status_code=204)


@router.get("/me", summary="The current user")
async def me(request: Request, principal: Principal = Depends(require_roles())) -> UserOut:
    reply = await request.app.state.clients.tenant.GetPrincipal(
        pb.GetPrincipalRequest(user_id=principal.user_id, token_version=principal.token_version),
        metadata=principal.metadata(),
    )
    return user_out(reply.user)
