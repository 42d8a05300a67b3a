import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class MessageKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MESSAGE_KIND_UNSPECIFIED: _ClassVar[MessageKind]
    MESSAGE_KIND_TEXT: _ClassVar[MessageKind]
    MESSAGE_KIND_IMAGE: _ClassVar[MessageKind]
    MESSAGE_KIND_AUDIO: _ClassVar[MessageKind]
    MESSAGE_KIND_VIDEO: _ClassVar[MessageKind]
    MESSAGE_KIND_DOCUMENT: _ClassVar[MessageKind]
    MESSAGE_KIND_STICKER: _ClassVar[MessageKind]
    MESSAGE_KIND_LOCATION: _ClassVar[MessageKind]
    MESSAGE_KIND_CONTACTS: _ClassVar[MessageKind]
    MESSAGE_KIND_INTERACTIVE: _ClassVar[MessageKind]
    MESSAGE_KIND_REACTION: _ClassVar[MessageKind]
    MESSAGE_KIND_UNSUPPORTED: _ClassVar[MessageKind]

class Direction(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DIRECTION_UNSPECIFIED: _ClassVar[Direction]
    DIRECTION_INBOUND: _ClassVar[Direction]
    DIRECTION_OUTBOUND_HUMAN: _ClassVar[Direction]
    DIRECTION_OUTBOUND_AI: _ClassVar[Direction]
MESSAGE_KIND_UNSPECIFIED: MessageKind
MESSAGE_KIND_TEXT: MessageKind
MESSAGE_KIND_IMAGE: MessageKind
MESSAGE_KIND_AUDIO: MessageKind
MESSAGE_KIND_VIDEO: MessageKind
MESSAGE_KIND_DOCUMENT: MessageKind
MESSAGE_KIND_STICKER: MessageKind
MESSAGE_KIND_LOCATION: MessageKind
MESSAGE_KIND_CONTACTS: MessageKind
MESSAGE_KIND_INTERACTIVE: MessageKind
MESSAGE_KIND_REACTION: MessageKind
MESSAGE_KIND_UNSUPPORTED: MessageKind
DIRECTION_UNSPECIFIED: Direction
DIRECTION_INBOUND: Direction
DIRECTION_OUTBOUND_HUMAN: Direction
DIRECTION_OUTBOUND_AI: Direction

class Media(_message.Message):
    __slots__ = ("id", "url", "mime_type", "caption", "filename")
    ID_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    MIME_TYPE_FIELD_NUMBER: _ClassVar[int]
    CAPTION_FIELD_NUMBER: _ClassVar[int]
    FILENAME_FIELD_NUMBER: _ClassVar[int]
    id: str
    url: str
    mime_type: str
    caption: str
    filename: str
    def __init__(self, id: _Optional[str] = ..., url: _Optional[str] = ..., mime_type: _Optional[str] = ..., caption: _Optional[str] = ..., filename: _Optional[str] = ...) -> None: ...

class Location(_message.Message):
    __slots__ = ("latitude", "longitude", "name", "address")
    LATITUDE_FIELD_NUMBER: _ClassVar[int]
    LONGITUDE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    latitude: float
    longitude: float
    name: str
    address: str
    def __init__(self, latitude: _Optional[float] = ..., longitude: _Optional[float] = ..., name: _Optional[str] = ..., address: _Optional[str] = ...) -> None: ...

class InboundMessage(_message.Message):
    __slots__ = ("provider", "external_id", "channel_id", "sender", "sender_name", "kind", "text", "media", "location", "reply_id", "sent_at", "from_me", "raw_json")
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    EXTERNAL_ID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_ID_FIELD_NUMBER: _ClassVar[int]
    SENDER_FIELD_NUMBER: _ClassVar[int]
    SENDER_NAME_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    MEDIA_FIELD_NUMBER: _ClassVar[int]
    LOCATION_FIELD_NUMBER: _ClassVar[int]
    REPLY_ID_FIELD_NUMBER: _ClassVar[int]
    SENT_AT_FIELD_NUMBER: _ClassVar[int]
    FROM_ME_FIELD_NUMBER: _ClassVar[int]
    RAW_JSON_FIELD_NUMBER: _ClassVar[int]
    provider: str
    external_id: str
    channel_id: str
    sender: str
    sender_name: str
    kind: MessageKind
    text: str
    media: Media
    location: Location
    reply_id: str
    sent_at: _timestamp_pb2.Timestamp
    from_me: bool
    raw_json: str
    def __init__(self, provider: _Optional[str] = ..., external_id: _Optional[str] = ..., channel_id: _Optional[str] = ..., sender: _Optional[str] = ..., sender_name: _Optional[str] = ..., kind: _Optional[_Union[MessageKind, str]] = ..., text: _Optional[str] = ..., media: _Optional[_Union[Media, _Mapping]] = ..., location: _Optional[_Union[Location, _Mapping]] = ..., reply_id: _Optional[str] = ..., sent_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., from_me: _Optional[bool] = ..., raw_json: _Optional[str] = ...) -> None: ...

class IngestInboundRequest(_message.Message):
    __slots__ = ("tenant_id", "message")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    message: InboundMessage
    def __init__(self, tenant_id: _Optional[str] = ..., message: _Optional[_Union[InboundMessage, _Mapping]] = ...) -> None: ...

class IngestInboundResponse(_message.Message):
    __slots__ = ("lead_id", "message_id", "created", "lead_created")
    LEAD_ID_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    LEAD_CREATED_FIELD_NUMBER: _ClassVar[int]
    lead_id: str
    message_id: str
    created: bool
    lead_created: bool
    def __init__(self, lead_id: _Optional[str] = ..., message_id: _Optional[str] = ..., created: _Optional[bool] = ..., lead_created: _Optional[bool] = ...) -> None: ...

class Lead(_message.Message):
    __slots__ = ("id", "tenant_id", "phone", "name", "status", "created_at", "last_message_at", "message_count")
    ID_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    PHONE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    LAST_MESSAGE_AT_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_COUNT_FIELD_NUMBER: _ClassVar[int]
    id: str
    tenant_id: str
    phone: str
    name: str
    status: str
    created_at: _timestamp_pb2.Timestamp
    last_message_at: _timestamp_pb2.Timestamp
    message_count: int
    def __init__(self, id: _Optional[str] = ..., tenant_id: _Optional[str] = ..., phone: _Optional[str] = ..., name: _Optional[str] = ..., status: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_message_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., message_count: _Optional[int] = ...) -> None: ...

class GetLeadRequest(_message.Message):
    __slots__ = ("tenant_id", "lead_id")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    LEAD_ID_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    lead_id: str
    def __init__(self, tenant_id: _Optional[str] = ..., lead_id: _Optional[str] = ...) -> None: ...

class GetLeadResponse(_message.Message):
    __slots__ = ("lead",)
    LEAD_FIELD_NUMBER: _ClassVar[int]
    lead: Lead
    def __init__(self, lead: _Optional[_Union[Lead, _Mapping]] = ...) -> None: ...
