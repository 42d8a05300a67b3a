"""Canonical events → the conversation service's protobuf messages (the only _pb2 use here)."""

from __future__ import annotations

import orjson

from gateway.providers.canonical import InboundMessage, Kind
from kit.timestamps import timestamp
from vellarys.conversation.v1 import conversation_pb2 as pb

KINDS: dict[Kind, int] = {
    Kind.TEXT: pb.MESSAGE_KIND_TEXT,
    Kind.IMAGE: pb.MESSAGE_KIND_IMAGE,
    Kind.AUDIO: pb.MESSAGE_KIND_AUDIO,
    Kind.VIDEO: pb.MESSAGE_KIND_VIDEO,
    Kind.DOCUMENT: pb.MESSAGE_KIND_DOCUMENT,
    Kind.STICKER: pb.MESSAGE_KIND_STICKER,
    Kind.LOCATION: pb.MESSAGE_KIND_LOCATION,
    Kind.CONTACTS: pb.MESSAGE_KIND_CONTACTS,
    Kind.INTERACTIVE: pb.MESSAGE_KIND_INTERACTIVE,
    Kind.REACTION: pb.MESSAGE_KIND_REACTION,
    Kind.UNSUPPORTED: pb.MESSAGE_KIND_UNSUPPORTED,
}


def to_proto(message: InboundMessage) -> pb.InboundMessage:
    """Fields the contract has no slot for yet (reply_title, reaction target, contacts, sha256,
    context id, sender_phone_known) survive in `raw_json`, and `text` carries the human-readable
    part (caption, chosen option, emoji, contact list)."""
    out = pb.InboundMessage(
        provider=message.provider,
        external_id=message.external_id,
        channel_id=message.business_id,
        sender=message.sender,
        sender_name=message.sender_name,
        kind=KINDS[message.kind],  # type: ignore[arg-type]
        text=message.text,
        reply_id=message.reply_id,
        sent_at=timestamp(message.sent_at),
        from_me=message.from_me,
        # orjson: the stdlib encoder was a twentieth of the gateway's CPU per webhook.
        raw_json=orjson.dumps(message.raw, default=str, option=orjson.OPT_NON_STR_KEYS).decode(),
    )
    if message.media is not None:
        media = message.media
        out.media.CopyFrom(
            pb.Media(
                id=media.id,
                url=media.url,
                mime_type=media.mime_type,
                caption=media.caption,
                filename=media.filename,
            )
        )
    if message.location is not None:
        place = message.location
        out.location.CopyFrom(
            pb.Location(
                latitude=place.latitude, longitude=place.longitude, name=place.name, address=place.address
            )
        )
    return out
