"""Web push to the fake push endpoint: VAPID + aes128gcm, pruning of 404/410, dedupe, WhatsApp alerts."""

from __future__ import annotations

import base64
import os
import uuid

import grpc
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid

from kit.context import CallContext
from kit.fakes import providers as fp
from vellarys.notify.v1 import notify_pb2 as pb

from .conftest import eventually


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.fixture(scope="module")
def vapid() -> dict[str, str]:
    key = Vapid()
    key.generate_keys()
    private = key.private_key.private_numbers().private_value.to_bytes(32, "big")
    public = key.public_key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return {"vapid_private_key": b64(private), "vapid_public_key": b64(public)}


def browser_keys() -> tuple[str, str]:
    public = ec.generate_private_key(ec.SECP256R1()).public_key()
    point = public.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return b64(point), b64(os.urandom(16))


def as_user(tenant_id: str, user_id: str, role: str = "seller"):
    return CallContext(tenant_id=tenant_id, actor_id=user_id, role=role).metadata()


async def register(stub, tenant_id: str, user_id: str, endpoint: str) -> pb.PushSubscription:
    p256dh, auth = browser_keys()
    request = pb.RegisterPushSubscriptionRequest(endpoint=endpoint, p256dh=p256dh, auth=auth)
    return (await stub.RegisterPushSubscription(request, metadata=as_user(tenant_id, user_id))).subscription


class TestPush:
    async def test_push_reaches_the_endpoint_signed_and_encrypted(self, fake, notify_stack, vapid, sql):
        tenant_id, user_id = str(uuid.uuid4()), str(uuid.uuid4())
        endpoint = fake.push_endpoint()
        async with notify_stack(**vapid) as s:
            sub = await register(s.stub, tenant_id, user_id, endpoint)
            assert (sub.tenant_id, sub.user_id) == (tenant_id, user_id)
            reply = await s.stub.NotifyUser(pb.NotifyUserRequest(
                tenant_id=tenant_id, user_id=user_id, title="Novo lead", body="Mariana quer visitar", url="/leads/1"))  # fmt: skip
            key = await s.stub.GetVapidPublicKey(pb.GetVapidPublicKeyRequest())
        assert reply.pushed == 1 and key.public_key == vapid["vapid_public_key"]
        [request] = fake.received(path=endpoint.removeprefix(fake.base_url))
        assert request.headers["content-encoding"] == "aes128gcm" and request.headers["ttl"]
        assert request.headers["authorization"].startswith("vapid t=")
        assert vapid["vapid_public_key"] in request.headers["authorization"]
        assert b"Mariana" not in request.body  # encrypted
        touched = await sql.fetchval(
            "SELECT last_success_at FROM notify.push_subscriptions WHERE endpoint = $1", endpoint
        )
        assert touched is not None

    @pytest.mark.parametrize("gone", [404, 410])
    async def test_expired_subscription_is_pruned(self, fake, notify_stack, vapid, sql, gone):
        tenant_id, user_id = str(uuid.uuid4()), str(uuid.uuid4())
        dead, alive = fake.push_endpoint(), fake.push_endpoint()
        fake.queue(dead.removeprefix(fake.base_url), fp.status(gone, b""))
        async with notify_stack(**vapid) as s:
            await register(s.stub, tenant_id, user_id, dead)
            await register(s.stub, tenant_id, user_id, alive)
            reply = await s.stub.NotifyUser(
                pb.NotifyUserRequest(tenant_id=tenant_id, user_id=user_id, title="Oi")
            )
        assert (reply.pushed, reply.pruned) == (1, 1)
        left = await sql.fetch(
            "SELECT endpoint FROM notify.push_subscriptions WHERE user_id = $1", uuid.UUID(user_id)
        )
        assert [r["endpoint"] for r in left] == [alive]

    async def test_same_notification_id_notifies_once(self, fake, notify_stack, vapid):
        tenant_id, user_id = str(uuid.uuid4()), str(uuid.uuid4())
        endpoint = fake.push_endpoint()
        request = pb.NotifyUserRequest(
            tenant_id=tenant_id, user_id=user_id, title="Handoff", notification_id="evt-1"
        )
        async with notify_stack(**vapid) as s:
            await register(s.stub, tenant_id, user_id, endpoint)
            first = await s.stub.NotifyUser(request)
            again = await s.stub.NotifyUser(request)
        assert first.pushed == 1 and again.duplicate and again.pushed == 0
        assert len(fake.received(path=endpoint.removeprefix(fake.base_url))) == 1

    async def test_users_manage_only_their_own_subscriptions(self, fake, notify_stack):
        tenant_id, user_id = str(uuid.uuid4()), str(uuid.uuid4())
        p256dh, auth = browser_keys()
        request = pb.RegisterPushSubscriptionRequest(
            user_id=str(uuid.uuid4()), endpoint=fake.push_endpoint(), p256dh=p256dh, auth=auth)  # fmt: skip
        async with notify_stack() as s:
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await s.stub.RegisterPushSubscription(request, metadata=as_user(tenant_id, user_id))
            assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
            endpoint = fake.push_endpoint()
            await register(s.stub, tenant_id, user_id, endpoint)
            delete = pb.DeletePushSubscriptionRequest(endpoint=endpoint)
            assert (await s.stub.DeletePushSubscription(delete, metadata=as_user(tenant_id, user_id))).deleted
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await s.stub.NotifyUser(pb.NotifyUserRequest(tenant_id=tenant_id, user_id=user_id, title="x"),
                                        metadata=as_user(tenant_id, user_id))  # fmt: skip
            assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED

    async def test_whatsapp_alert_to_the_seller_is_idempotent(self, tenancy, fake, notify_stack):
        tenant_id = await tenancy.new_tenant()
        channel = await tenancy.channel(tenant_id, "zapi")
        request = pb.NotifyUserRequest(
            tenant_id=tenant_id, user_id=str(uuid.uuid4()), title="Lead qualificado", body="Mariana, 3 quartos, Batel",
            whatsapp_phone="+5541999887766", channel_id=channel.id)  # fmt: skip
        async with notify_stack(run_worker=True) as s:
            first = await s.stub.NotifyUser(request)
            again = await s.stub.NotifyUser(request)
            path = f"/instances/{channel.external_id}/token/zapi-instance-token-123/send-text"
            await eventually(lambda: _received(fake, path))
        assert first.delivery_id and first.delivery_id == again.delivery_id
        [sent] = fake.received(path=path)
        assert sent.json()["phone"] == "5541999887766" and "Mariana, 3 quartos" in sent.json()["message"]


async def _received(fake, path: str) -> bool:
    return bool(fake.received(path=path))
