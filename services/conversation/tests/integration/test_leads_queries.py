"""ListLeads / ListMessages / UpdateLead / GetLead: filters, keyset pages, roles, tenant isolation."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import grpc
import pytest

from vellarys.conversation.v1 import conversation_pb2 as pb

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


async def seed(stub, h, t: str, n: int, *, at: datetime = T0, prefix: str = "+55419777") -> list[str]:
    """n leads of tenant t whose last message is at `at` (all tied); returns their ids."""
    ids = []
    for i in range(n):
        reply = await stub.IngestInbound(h.message(t, f"{prefix}{i:04d}", at=at, sender_name=f"Lead {i}"))
        ids.append(reply.lead_id)
    return ids


async def all_pages(stub, request: pb.ListLeadsRequest, metadata=()) -> list[pb.Lead]:
    leads, cursor = [], ""
    while True:
        request.cursor = cursor
        reply = await stub.ListLeads(request, metadata=metadata)
        leads.extend(reply.leads)
        if not reply.next_cursor:
            return leads
        assert len(reply.leads) == request.limit
        cursor = reply.next_cursor


async def assign(sql, lead_id: str, user_id: str | None) -> None:
    await sql.execute(
        "UPDATE conversation.leads SET assigned_user_id = $2 WHERE id = $1",
        uuid.UUID(lead_id),
        uuid.UUID(user_id) if user_id else None,
    )


def code_of(err: pytest.ExceptionInfo[grpc.aio.AioRpcError]) -> grpc.StatusCode:
    return err.value.code()


class TestListLeads:
    async def test_keyset_pages_have_no_gaps_or_duplicates_with_ties(self, stub, h):
        t = h.new_id()
        tied = await seed(stub, h, t, 23)
        newer = await seed(stub, h, t, 4, at=T0 + timedelta(minutes=5), prefix="+55419666")
        older = await seed(stub, h, t, 3, at=T0 - timedelta(days=1), prefix="+55419555")
        leads = await all_pages(stub, pb.ListLeadsRequest(tenant_id=t, limit=5))
        ids = [lead.id for lead in leads]
        assert len(ids) == len(set(ids)) == 30
        assert set(ids[:4]) == set(newer) and set(ids[4:27]) == set(tied) and set(ids[27:]) == set(older)
        keys = [(lead.last_message_at.ToDatetime(), uuid.UUID(lead.id)) for lead in leads]
        assert keys == sorted(keys, reverse=True)

    async def test_filters(self, stub, sql, h):
        t, seller = h.new_id(), h.new_id()
        ids = await seed(stub, h, t, 6)
        late = await stub.IngestInbound(
            h.message(t, "+5511912345678", at=T0 + timedelta(days=2), sender_name="Ana Beatriz")
        )
        await stub.UpdateLead(pb.UpdateLeadRequest(tenant_id=t, lead_id=ids[0], status="qualified"))
        await assign(sql, ids[1], seller)
        await assign(sql, ids[2], h.new_id())

        async def listed(**filters: object) -> set[str]:
            return {
                lead.id
                for lead in await all_pages(stub, pb.ListLeadsRequest(tenant_id=t, limit=2, **filters))
            }

        assert await listed(status="qualified") == {ids[0]}
        assert await listed(assigned_user_id=seller) == {ids[1]}
        assert await listed(query="ana bea") == {late.lead_id}
        assert await listed(query="11 91234") == {late.lead_id}
        assert await listed(query="100%") == set()
        from_ts = pb.ListLeadsRequest(tenant_id=t)
        from_ts.active_from.FromDatetime(T0 + timedelta(days=1))
        assert {lead.id for lead in (await stub.ListLeads(from_ts)).leads} == {late.lead_id}
        to_ts = pb.ListLeadsRequest(tenant_id=t)
        to_ts.active_to.FromDatetime(T0 + timedelta(days=1))
        to_ts.created_from.FromDatetime(datetime.now(UTC) - timedelta(hours=1))
        assert {lead.id for lead in (await stub.ListLeads(to_ts)).leads} == set(ids)
        mine = await all_pages(
            stub,
            pb.ListLeadsRequest(tenant_id=t, limit=3, unassigned_or_mine=True),
            h.as_user("admin", t, seller),
        )
        assert {lead.id for lead in mine} == set(ids) - {ids[2]} | {late.lead_id}

    @pytest.mark.parametrize(
        ("field", "value"),
        [("status", "hot"), ("limit", 101), ("cursor", "garbage"), ("assigned_user_id", "x")],
    )
    async def test_invalid_requests(self, stub, h, field, value):
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await stub.ListLeads(pb.ListLeadsRequest(tenant_id=h.new_id(), **{field: value}))
        assert code_of(err) == grpc.StatusCode.INVALID_ARGUMENT and field in err.value.details()


class TestRoles:
    async def test_seller_sees_own_and_unassigned_only(self, stub, sql, h):
        t, seller, other = h.new_id(), h.new_id(), h.new_id()
        ids = await seed(stub, h, t, 4)
        await assign(sql, ids[0], seller)
        await assign(sql, ids[1], other)
        as_seller = h.as_user("seller", t, seller)
        listed = await all_pages(stub, pb.ListLeadsRequest(tenant_id=t, limit=2), as_seller)
        assert {lead.id for lead in listed} == {ids[0], ids[2], ids[3]}
        # Asking for another seller's leads yields nothing rather than widening the view.
        theirs = await stub.ListLeads(
            pb.ListLeadsRequest(tenant_id=t, assigned_user_id=other), metadata=as_seller
        )
        assert list(theirs.leads) == []
        for call in (
            stub.GetLead(pb.GetLeadRequest(tenant_id=t, lead_id=ids[1]), metadata=as_seller),
            stub.ListMessages(pb.ListMessagesRequest(tenant_id=t, lead_id=ids[1]), metadata=as_seller),
            stub.UpdateLead(pb.UpdateLeadRequest(tenant_id=t, lead_id=ids[1], notes="x"), metadata=as_seller),
        ):
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await call
            assert code_of(err) == grpc.StatusCode.NOT_FOUND
        updated = await stub.UpdateLead(
            pb.UpdateLeadRequest(tenant_id=t, lead_id=ids[0], status="in_progress"), metadata=as_seller
        )
        assert updated.lead.status == "in_progress"

    async def test_viewer_reads_but_cannot_update(self, stub, h):
        t = h.new_id()
        [lead_id] = await seed(stub, h, t, 1)
        viewer = h.as_user("viewer", t)
        assert (await stub.GetLead(pb.GetLeadRequest(tenant_id=t, lead_id=lead_id), metadata=viewer)).lead.id
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await stub.UpdateLead(
                pb.UpdateLeadRequest(tenant_id=t, lead_id=lead_id, status="won"), metadata=viewer
            )
        assert code_of(err) == grpc.StatusCode.PERMISSION_DENIED

    async def test_other_tenant_is_not_found(self, stub, h):
        t, intruder = h.new_id(), h.new_id()
        [lead_id] = await seed(stub, h, t, 1)
        admin_b = h.as_user("admin", intruder)
        for tenant_id in (t, "", intruder):
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await stub.GetLead(pb.GetLeadRequest(tenant_id=tenant_id, lead_id=lead_id), metadata=admin_b)
            assert code_of(err) == grpc.StatusCode.NOT_FOUND
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await stub.ListLeads(pb.ListLeadsRequest(tenant_id=t), metadata=admin_b)
        assert code_of(err) == grpc.StatusCode.NOT_FOUND
        own = await stub.ListLeads(pb.ListLeadsRequest(), metadata=admin_b)
        assert list(own.leads) == []

    async def test_superadmin_reaches_any_tenant(self, stub, h):
        t = h.new_id()
        [lead_id] = await seed(stub, h, t, 1)
        root = h.as_user("superadmin", h.new_id())
        assert (
            await stub.GetLead(pb.GetLeadRequest(tenant_id=t, lead_id=lead_id), metadata=root)
        ).lead.id == lead_id
        assert len((await stub.ListLeads(pb.ListLeadsRequest(tenant_id=t), metadata=root)).leads) == 1

    async def test_unknown_role_is_denied(self, stub, h):
        t = h.new_id()
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await stub.ListLeads(pb.ListLeadsRequest(tenant_id=t), metadata=h.as_user("owner", t))
        assert code_of(err) == grpc.StatusCode.PERMISSION_DENIED


class TestUpdateLead:
    async def test_status_and_notes(self, stub, h):
        t = h.new_id()
        [lead_id] = await seed(stub, h, t, 1)
        admin = h.as_user("admin", t)
        reply = await stub.UpdateLead(
            pb.UpdateLeadRequest(tenant_id=t, lead_id=lead_id, status="won", notes="Fechou o Batel"),
            metadata=admin,
        )
        assert (reply.lead.status, reply.lead.notes) == ("won", "Fechou o Batel")
        only_notes = await stub.UpdateLead(
            pb.UpdateLeadRequest(tenant_id=t, lead_id=lead_id, notes=""), metadata=admin
        )
        assert (only_notes.lead.status, only_notes.lead.notes) == ("won", "")

    @pytest.mark.parametrize(
        ("fields", "problem"), [({"status": "hot"}, "status"), ({"notes": "x" * 10_001}, "notes")]
    )
    async def test_invalid_values(self, stub, h, fields, problem):
        t = h.new_id()
        [lead_id] = await seed(stub, h, t, 1)
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await stub.UpdateLead(pb.UpdateLeadRequest(tenant_id=t, lead_id=lead_id, **fields))
        assert code_of(err) == grpc.StatusCode.INVALID_ARGUMENT and problem in err.value.details()


class TestListMessages:
    async def test_newest_first_keyset_pages(self, stub, h):
        t = h.new_id()
        sent = [await stub.IngestInbound(h.message(t, text=f"msg {i}")) for i in range(7)]
        seen, cursor = [], ""
        while True:
            reply = await stub.ListMessages(
                pb.ListMessagesRequest(tenant_id=t, lead_id=sent[0].lead_id, limit=3, cursor=cursor)
            )
            seen.extend(m.text for m in reply.messages)
            cursor = reply.next_cursor
            if not cursor:
                break
        assert seen == [f"msg {i}" for i in reversed(range(7))]

    async def test_message_fields(self, stub, h):
        t = h.new_id()
        reply = await stub.IngestInbound(
            h.message(
                t,
                kind=pb.MESSAGE_KIND_IMAGE,
                text="",
                media=pb.Media(url="https://cdn/x.jpg", caption="sala"),
            )
        )
        [m] = (await stub.ListMessages(pb.ListMessagesRequest(tenant_id=t, lead_id=reply.lead_id))).messages
        assert (m.id, m.kind, m.direction, m.media.caption) == (
            reply.message_id,
            pb.MESSAGE_KIND_IMAGE,
            pb.DIRECTION_INBOUND,
            "sala",
        )
