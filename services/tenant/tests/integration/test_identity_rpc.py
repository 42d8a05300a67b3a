"""Auth, users, tenants administration and the tenant re-check, through the real gRPC server."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import grpc
import pytest

import tenant
from kit import db, rpc
from kit.context import CallContext
from kit.testing import settings_for_tests
from tenant.config import Settings
from tenant.seed import bootstrap
from tenant.server import build
from vellarys.tenant.v1 import tenant_pb2 as pb
from vellarys.tenant.v1 import tenant_pb2_grpc as pb_grpc

PASSWORD = "correct horse battery"
SUPER = CallContext(tenant_id=str(uuid.uuid4()), actor_id=str(uuid.uuid4()), role="superadmin").metadata()


@pytest.fixture(scope="module")
async def env(migrated, database_url) -> AsyncIterator[tuple[pb_grpc.TenantServiceStub, Settings, object]]:
    url = migrated("tenant", tenant.__file__)
    settings = settings_for_tests(Settings, database_url, tenants_hard_limit=1000, login_max_failures=3)
    engine = db.create_engine(url, pool_size=2, max_overflow=2, application_name="test-identity")
    server = build(settings, engine, port=0)
    await server.start()
    channel = rpc.make_channel(f"127.0.0.1:{server.port}")
    yield pb_grpc.TenantServiceStub(channel), settings, engine
    await channel.close()
    await server.stop(0)
    await engine.dispose()


@pytest.fixture
def stub(env) -> pb_grpc.TenantServiceStub:
    return env[0]


def as_user(user: pb.User) -> tuple[tuple[str, str], ...]:
    role = pb.Role.Name(user.role).removeprefix("ROLE_").lower()
    return CallContext(tenant_id=user.tenant_id, actor_id=user.id, role=role).metadata()


async def new_tenant(stub) -> pb.Tenant:
    request = pb.CreateTenantRequest(name="Imob", slug=f"t-{uuid.uuid4().hex[:10]}", niche_id=1)
    return (await stub.CreateTenant(request, metadata=SUPER)).tenant


async def new_user(stub, tenant_id: str, role=pb.ROLE_ADMIN, **extra) -> pb.User:
    request = pb.CreateUserRequest(
        tenant_id=tenant_id,
        email=f"u{uuid.uuid4().hex[:8]}@Example.com",
        name="Ana",
        role=role,
        password=PASSWORD,
        **extra,
    )
    return (await stub.CreateUser(request, metadata=SUPER)).user


async def code_of(call) -> grpc.StatusCode:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await call
    return err.value.code()


class TestLogin:
    async def test_success_returns_user_and_refresh_token(self, stub):
        t = await new_tenant(stub)
        u = await new_user(stub, t.id)
        reply = await stub.Login(
            pb.LoginRequest(email=u.email.upper(), password=PASSWORD, source_ip="1.1.1.1")
        )
        assert reply.user.id == u.id and len(reply.refresh_token) >= 40
        assert reply.user.last_login_at.seconds > 0

    async def test_unknown_email_and_wrong_password_answer_alike(self, stub):
        t = await new_tenant(stub)
        u = await new_user(stub, t.id)
        answers = []
        for email in (u.email, "nobody@example.com"):
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await stub.Login(
                    pb.LoginRequest(email=email, password="wrong password!", source_ip="2.2.2.2")
                )
            answers.append((err.value.code(), err.value.details()))
        assert answers[0] == answers[1] == (grpc.StatusCode.UNAUTHENTICATED, "invalid email or password")

    async def test_repeated_failures_are_throttled_per_email_and_ip(self, stub):
        t = await new_tenant(stub)
        u = await new_user(stub, t.id)
        for _ in range(3):
            login = stub.Login(pb.LoginRequest(email=u.email, password="bad-bad-bad!", source_ip="3.3.3.3"))
            assert await code_of(login) == grpc.StatusCode.UNAUTHENTICATED
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await stub.Login(pb.LoginRequest(email=u.email, password=PASSWORD, source_ip="3.3.3.3"))
        assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "retry after" in err.value.details()
        # Another address is not blocked by someone else's failures.
        await stub.Login(pb.LoginRequest(email=u.email, password=PASSWORD, source_ip="4.4.4.4"))

    async def test_inactive_user_cannot_log_in(self, stub):
        t = await new_tenant(stub)
        await new_user(stub, t.id)
        u = await new_user(stub, t.id, role=pb.ROLE_SELLER)
        await stub.DeactivateUser(pb.DeactivateUserRequest(user_id=u.id), metadata=SUPER)
        login = stub.Login(pb.LoginRequest(email=u.email, password=PASSWORD, source_ip="5.5.5.5"))
        assert await code_of(login) == grpc.StatusCode.UNAUTHENTICATED

    async def test_login_is_audited(self, stub):
        t = await new_tenant(stub)
        u = await new_user(stub, t.id)
        await stub.Login(pb.LoginRequest(email=u.email, password=PASSWORD, source_ip="6.6.6.6"))
        with pytest.raises(grpc.aio.AioRpcError):
            await stub.Login(pb.LoginRequest(email=u.email, password="nope-nope-nope", source_ip="6.6.6.6"))
        entries = (await stub.ListAudit(pb.ListAuditRequest(), metadata=as_user(u))).entries
        actions = [(e.action, e.source_ip) for e in entries]
        assert ("auth.login", "6.6.6.6") in actions and ("auth.login_failed", "6.6.6.6") in actions
        assert all("nope" not in e.details_json for e in entries)


class TestRefresh:
    async def _login(self, stub) -> pb.LoginResponse:
        t = await new_tenant(stub)
        u = await new_user(stub, t.id)
        return await stub.Login(pb.LoginRequest(email=u.email, password=PASSWORD, source_ip="7.7.7.7"))

    async def test_rotation_issues_a_new_token_and_revokes_the_old(self, stub):
        first = await self._login(stub)
        second = await stub.Refresh(pb.RefreshRequest(refresh_token=first.refresh_token))
        assert second.refresh_token != first.refresh_token and second.user.id == first.user.id
        third = await stub.Refresh(pb.RefreshRequest(refresh_token=second.refresh_token))
        assert third.refresh_token

    async def test_reuse_revokes_the_whole_family(self, stub):
        first = await self._login(stub)
        second = await stub.Refresh(pb.RefreshRequest(refresh_token=first.refresh_token))
        reuse = stub.Refresh(pb.RefreshRequest(refresh_token=first.refresh_token))
        assert await code_of(reuse) == grpc.StatusCode.UNAUTHENTICATED
        after = stub.Refresh(pb.RefreshRequest(refresh_token=second.refresh_token))
        assert await code_of(after) == grpc.StatusCode.UNAUTHENTICATED

    async def test_logout_ends_the_chain(self, stub):
        first = await self._login(stub)
        await stub.Logout(pb.LogoutRequest(refresh_token=first.refresh_token))
        refresh = stub.Refresh(pb.RefreshRequest(refresh_token=first.refresh_token))
        assert await code_of(refresh) == grpc.StatusCode.UNAUTHENTICATED
        assert await code_of(stub.Refresh(pb.RefreshRequest(refresh_token="garbage"))) == (
            grpc.StatusCode.UNAUTHENTICATED
        )


class TestGetPrincipal:
    async def test_deactivation_role_change_and_suspension_take_effect(self, stub):
        t = await new_tenant(stub)
        admin = await new_user(stub, t.id)
        seller = await new_user(stub, t.id, role=pb.ROLE_SELLER)
        ok = await stub.GetPrincipal(pb.GetPrincipalRequest(user_id=seller.id, token_version=1))
        assert ok.user.role == pb.ROLE_SELLER
        changed = await stub.UpdateUser(
            pb.UpdateUserRequest(user_id=seller.id, role=pb.ROLE_VIEWER), metadata=as_user(admin)
        )
        stale = stub.GetPrincipal(pb.GetPrincipalRequest(user_id=seller.id, token_version=1))
        assert await code_of(stale) == grpc.StatusCode.UNAUTHENTICATED
        version = changed.user.token_version
        await stub.GetPrincipal(pb.GetPrincipalRequest(user_id=seller.id, token_version=version))
        await stub.SuspendTenant(pb.SuspendTenantRequest(tenant_id=t.id), metadata=SUPER)
        suspended = stub.GetPrincipal(pb.GetPrincipalRequest(user_id=seller.id, token_version=version))
        assert await code_of(suspended) == grpc.StatusCode.UNAUTHENTICATED
        await stub.ReactivateTenant(pb.ReactivateTenantRequest(tenant_id=t.id), metadata=SUPER)
        await stub.GetPrincipal(pb.GetPrincipalRequest(user_id=seller.id, token_version=version))


class TestUsers:
    async def test_duplicate_email_is_case_insensitive(self, stub):
        t = await new_tenant(stub)
        u = await new_user(stub, t.id)
        again = stub.CreateUser(
            pb.CreateUserRequest(tenant_id=t.id, email=u.email.upper(), name="B", role=pb.ROLE_VIEWER),
            metadata=SUPER,
        )
        assert await code_of(again) == grpc.StatusCode.ALREADY_EXISTS

    async def test_generated_password_is_returned_once_and_works(self, stub):
        t = await new_tenant(stub)
        admin = await new_user(stub, t.id)
        request = pb.CreateUserRequest(
            email=f"s{uuid.uuid4().hex[:6]}@x.com.br",
            name="Seller",
            role=pb.ROLE_SELLER,
            phone="+5541999998888",
        )
        created = await stub.CreateUser(request, metadata=as_user(admin))
        assert created.user.tenant_id == t.id and len(created.temporary_password) >= 16
        await stub.Login(pb.LoginRequest(email=request.email, password=created.temporary_password))
        reset = await stub.ResetPassword(
            pb.ResetPasswordRequest(user_id=created.user.id), metadata=as_user(admin)
        )
        assert reset.temporary_password and reset.temporary_password != created.temporary_password

    @pytest.mark.parametrize(
        ("field", "value", "word"),
        [
            ("email", "not-an-email", "email"),
            ("phone", "41 9999-8888", "phone"),
            ("password", "short", "password"),
        ],
    )
    async def test_bad_input_names_the_field(self, stub, field, value, word):
        t = await new_tenant(stub)
        values = {"email": "ok@example.com", "name": "N", "role": pb.ROLE_SELLER, "password": PASSWORD}
        values[field] = value
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await stub.CreateUser(pb.CreateUserRequest(tenant_id=t.id, **values), metadata=SUPER)
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and word in err.value.details()

    async def test_last_active_admin_cannot_be_demoted_or_deactivated(self, stub):
        t = await new_tenant(stub)
        admin = await new_user(stub, t.id)
        me = as_user(admin)
        demote = stub.UpdateUser(pb.UpdateUserRequest(user_id=admin.id, role=pb.ROLE_SELLER), metadata=me)
        assert await code_of(demote) == grpc.StatusCode.ABORTED
        deactivate = stub.DeactivateUser(pb.DeactivateUserRequest(user_id=admin.id), metadata=me)
        assert await code_of(deactivate) == grpc.StatusCode.ABORTED
        other = await new_user(stub, t.id)
        await stub.DeactivateUser(pb.DeactivateUserRequest(user_id=admin.id), metadata=as_user(other))
        last = stub.UpdateUser(pb.UpdateUserRequest(user_id=other.id, active=False), metadata=as_user(other))
        assert await code_of(last) == grpc.StatusCode.ABORTED

    async def test_admin_cannot_grant_superadmin(self, stub):
        t = await new_tenant(stub)
        admin = await new_user(stub, t.id)
        request = pb.CreateUserRequest(email="x@y.com", name="X", role=pb.ROLE_SUPERADMIN, password=PASSWORD)
        assert await code_of(stub.CreateUser(request, metadata=as_user(admin))) == (
            grpc.StatusCode.PERMISSION_DENIED
        )


class TestTenantRecheck:
    """Forged or misrouted context: another tenant's objects are NOT_FOUND; wrong roles are denied."""

    async def test_other_tenants_objects_are_not_found(self, stub):
        a, b = await new_tenant(stub), await new_tenant(stub)
        admin_a, user_b = await new_user(stub, a.id), await new_user(stub, b.id)
        forged = as_user(admin_a)
        calls = [
            stub.GetUser(pb.GetUserRequest(user_id=user_b.id), metadata=forged),
            stub.UpdateUser(pb.UpdateUserRequest(user_id=user_b.id, name="pwned"), metadata=forged),
            stub.DeactivateUser(pb.DeactivateUserRequest(user_id=user_b.id), metadata=forged),
            stub.ResetPassword(pb.ResetPasswordRequest(user_id=user_b.id), metadata=forged),
            stub.ListUsers(pb.ListUsersRequest(tenant_id=b.id), metadata=forged),
            stub.CreateUser(
                pb.CreateUserRequest(
                    tenant_id=b.id, email="z@z.com", name="Z", role=pb.ROLE_ADMIN, password=PASSWORD
                ),
                metadata=forged,
            ),
            stub.ListAudit(pb.ListAuditRequest(tenant_id=b.id), metadata=forged),
            stub.GetTenant(pb.GetTenantRequest(tenant_id=b.id), metadata=forged),
        ]
        for call in calls:
            assert await code_of(call) == grpc.StatusCode.NOT_FOUND
        got = await stub.GetUser(pb.GetUserRequest(user_id=user_b.id), metadata=as_user(user_b))
        assert got.user.name == "Ana"

    async def test_roles_are_rechecked(self, stub):
        t = await new_tenant(stub)
        await new_user(stub, t.id)
        seller = await new_user(stub, t.id, role=pb.ROLE_SELLER)
        admin = await new_user(stub, t.id)
        for md in (as_user(seller), ()):
            assert await code_of(stub.ListUsers(pb.ListUsersRequest(), metadata=md)) == (
                grpc.StatusCode.PERMISSION_DENIED
            )
        create = stub.CreateTenant(
            pb.CreateTenantRequest(name="N", slug="nope-x", niche_id=1), metadata=as_user(admin)
        )
        assert await code_of(create) == grpc.StatusCode.PERMISSION_DENIED


class TestTenantAdministration:
    async def test_list_update_suspend_reactivate(self, stub):
        t = await new_tenant(stub)
        listed = await stub.ListTenants(pb.ListTenantsRequest(limit=500), metadata=SUPER)
        assert listed.total >= 1 and t.id in {x.id for x in listed.tenants}
        updated = await stub.UpdateTenant(
            pb.UpdateTenantRequest(tenant_id=t.id, name="Novo", limits=pb.PlanLimits(leads_per_day_soft=800)),
            metadata=SUPER,
        )
        assert updated.tenant.name == "Novo" and updated.tenant.limits.leads_per_day_soft == 800
        assert updated.tenant.limits.leads_per_day_hard == 2000
        bad = stub.UpdateTenant(
            pb.UpdateTenantRequest(tenant_id=t.id, limits=pb.PlanLimits(leads_per_day_soft=5000)),
            metadata=SUPER,
        )
        assert await code_of(bad) == grpc.StatusCode.INVALID_ARGUMENT
        suspended = await stub.SuspendTenant(pb.SuspendTenantRequest(tenant_id=t.id), metadata=SUPER)
        assert suspended.tenant.status == pb.TENANT_STATUS_SUSPENDED
        back = await stub.ReactivateTenant(pb.ReactivateTenantRequest(tenant_id=t.id), metadata=SUPER)
        assert back.tenant.status == pb.TENANT_STATUS_ACTIVE
        actions = [
            e.action
            for e in (await stub.ListAudit(pb.ListAuditRequest(tenant_id=t.id), metadata=SUPER)).entries
        ]
        assert actions[:3] == ["tenant.reactivate", "tenant.suspend", "tenant.update"]
        assert "tenant.create" in actions

    async def test_niches(self, stub):
        niches = (await stub.ListNiches(pb.ListNichesRequest())).niches
        assert [n.id for n in niches][:2] == [1, 2] and "imobiliária" in niches[0].prompt_template.lower()


class TestSeed:
    async def test_bootstrap_is_idempotent_and_keeps_the_password(self, env, stub):
        _, settings, engine = env
        email = f"root-{uuid.uuid4().hex[:6]}@vellarys.local"
        seeded = settings.model_copy(
            update={"superadmin_email": email, "superadmin_tenant_slug": "platform-x"}
        )
        sessions = db.session_factory(engine)
        async with sessions.begin() as session:
            tenant_id, password = await bootstrap(session, seeded)
        assert len(password) >= 16
        async with sessions.begin() as session:
            again_id, again = await bootstrap(session, seeded)
        assert (again_id, again) == (tenant_id, "")
        reply = await stub.Login(pb.LoginRequest(email=email, password=password))
        assert reply.user.role == pb.ROLE_SUPERADMIN and reply.user.tenant_id == str(tenant_id)
