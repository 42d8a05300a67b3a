import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class LimitLevel(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    LIMIT_LEVEL_UNSPECIFIED: _ClassVar[LimitLevel]
    LIMIT_LEVEL_OK: _ClassVar[LimitLevel]
    LIMIT_LEVEL_SOFT: _ClassVar[LimitLevel]
    LIMIT_LEVEL_HARD: _ClassVar[LimitLevel]

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

class DeliveryStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DELIVERY_STATUS_UNSPECIFIED: _ClassVar[DeliveryStatus]
    DELIVERY_STATUS_QUEUED: _ClassVar[DeliveryStatus]
    DELIVERY_STATUS_SENT: _ClassVar[DeliveryStatus]
    DELIVERY_STATUS_DELIVERED: _ClassVar[DeliveryStatus]
    DELIVERY_STATUS_READ: _ClassVar[DeliveryStatus]
    DELIVERY_STATUS_PLAYED: _ClassVar[DeliveryStatus]
    DELIVERY_STATUS_FAILED: _ClassVar[DeliveryStatus]
LIMIT_LEVEL_UNSPECIFIED: LimitLevel
LIMIT_LEVEL_OK: LimitLevel
LIMIT_LEVEL_SOFT: LimitLevel
LIMIT_LEVEL_HARD: LimitLevel
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
DELIVERY_STATUS_UNSPECIFIED: DeliveryStatus
DELIVERY_STATUS_QUEUED: DeliveryStatus
DELIVERY_STATUS_SENT: DeliveryStatus
DELIVERY_STATUS_DELIVERED: DeliveryStatus
DELIVERY_STATUS_READ: DeliveryStatus
DELIVERY_STATUS_PLAYED: DeliveryStatus
DELIVERY_STATUS_FAILED: DeliveryStatus

class LimitState(_message.Message):
    __slots__ = ("messages_per_minute", "tenant_suspended", "new_leads_per_day_soft", "new_leads_per_day_hard")
    MESSAGES_PER_MINUTE_FIELD_NUMBER: _ClassVar[int]
    TENANT_SUSPENDED_FIELD_NUMBER: _ClassVar[int]
    NEW_LEADS_PER_DAY_SOFT_FIELD_NUMBER: _ClassVar[int]
    NEW_LEADS_PER_DAY_HARD_FIELD_NUMBER: _ClassVar[int]
    messages_per_minute: LimitLevel
    tenant_suspended: bool
    new_leads_per_day_soft: int
    new_leads_per_day_hard: int
    def __init__(self, messages_per_minute: _Optional[_Union[LimitLevel, str]] = ..., tenant_suspended: _Optional[bool] = ..., new_leads_per_day_soft: _Optional[int] = ..., new_leads_per_day_hard: _Optional[int] = ...) -> None: ...

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
    __slots__ = ("tenant_id", "message", "limits", "reply_debounce_seconds", "traceparent", "tracestate")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    LIMITS_FIELD_NUMBER: _ClassVar[int]
    REPLY_DEBOUNCE_SECONDS_FIELD_NUMBER: _ClassVar[int]
    TRACEPARENT_FIELD_NUMBER: _ClassVar[int]
    TRACESTATE_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    message: InboundMessage
    limits: LimitState
    reply_debounce_seconds: int
    traceparent: str
    tracestate: str
    def __init__(self, tenant_id: _Optional[str] = ..., message: _Optional[_Union[InboundMessage, _Mapping]] = ..., limits: _Optional[_Union[LimitState, _Mapping]] = ..., reply_debounce_seconds: _Optional[int] = ..., traceparent: _Optional[str] = ..., tracestate: _Optional[str] = ...) -> None: ...

class IngestBatchRequest(_message.Message):
    __slots__ = ("items",)
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[IngestInboundRequest]
    def __init__(self, items: _Optional[_Iterable[_Union[IngestInboundRequest, _Mapping]]] = ...) -> None: ...

class IngestItemError(_message.Message):
    __slots__ = ("code", "message")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    code: int
    message: str
    def __init__(self, code: _Optional[int] = ..., message: _Optional[str] = ...) -> None: ...

class IngestBatchResult(_message.Message):
    __slots__ = ("ok", "error")
    OK_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    ok: IngestInboundResponse
    error: IngestItemError
    def __init__(self, ok: _Optional[_Union[IngestInboundResponse, _Mapping]] = ..., error: _Optional[_Union[IngestItemError, _Mapping]] = ...) -> None: ...

class IngestBatchResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[IngestBatchResult]
    def __init__(self, results: _Optional[_Iterable[_Union[IngestBatchResult, _Mapping]]] = ...) -> None: ...

class IngestInboundResponse(_message.Message):
    __slots__ = ("lead_id", "message_id", "created", "lead_created", "conversation_id", "auto_reply", "auto_reply_blocked", "soft_limits_hit", "reply_scheduled")
    LEAD_ID_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    LEAD_CREATED_FIELD_NUMBER: _ClassVar[int]
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    AUTO_REPLY_FIELD_NUMBER: _ClassVar[int]
    AUTO_REPLY_BLOCKED_FIELD_NUMBER: _ClassVar[int]
    SOFT_LIMITS_HIT_FIELD_NUMBER: _ClassVar[int]
    REPLY_SCHEDULED_FIELD_NUMBER: _ClassVar[int]
    lead_id: str
    message_id: str
    created: bool
    lead_created: bool
    conversation_id: str
    auto_reply: bool
    auto_reply_blocked: str
    soft_limits_hit: _containers.RepeatedScalarFieldContainer[str]
    reply_scheduled: bool
    def __init__(self, lead_id: _Optional[str] = ..., message_id: _Optional[str] = ..., created: _Optional[bool] = ..., lead_created: _Optional[bool] = ..., conversation_id: _Optional[str] = ..., auto_reply: _Optional[bool] = ..., auto_reply_blocked: _Optional[str] = ..., soft_limits_hit: _Optional[_Iterable[str]] = ..., reply_scheduled: _Optional[bool] = ...) -> None: ...

class Lead(_message.Message):
    __slots__ = ("id", "tenant_id", "phone", "name", "status", "created_at", "last_message_at", "message_count", "assigned_user_id", "notes", "updated_at", "opted_out", "owner", "owner_user_id", "score", "score_reasons", "profile")
    ID_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    PHONE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    LAST_MESSAGE_AT_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_COUNT_FIELD_NUMBER: _ClassVar[int]
    ASSIGNED_USER_ID_FIELD_NUMBER: _ClassVar[int]
    NOTES_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    OPTED_OUT_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    OWNER_USER_ID_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    SCORE_REASONS_FIELD_NUMBER: _ClassVar[int]
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    id: str
    tenant_id: str
    phone: str
    name: str
    status: str
    created_at: _timestamp_pb2.Timestamp
    last_message_at: _timestamp_pb2.Timestamp
    message_count: int
    assigned_user_id: str
    notes: str
    updated_at: _timestamp_pb2.Timestamp
    opted_out: bool
    owner: str
    owner_user_id: str
    score: int
    score_reasons: _containers.RepeatedScalarFieldContainer[str]
    profile: _containers.RepeatedCompositeFieldContainer[ProfileField]
    def __init__(self, id: _Optional[str] = ..., tenant_id: _Optional[str] = ..., phone: _Optional[str] = ..., name: _Optional[str] = ..., status: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_message_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., message_count: _Optional[int] = ..., assigned_user_id: _Optional[str] = ..., notes: _Optional[str] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., opted_out: _Optional[bool] = ..., owner: _Optional[str] = ..., owner_user_id: _Optional[str] = ..., score: _Optional[int] = ..., score_reasons: _Optional[_Iterable[str]] = ..., profile: _Optional[_Iterable[_Union[ProfileField, _Mapping]]] = ...) -> None: ...

class ProfileField(_message.Message):
    __slots__ = ("name", "value", "evidence", "confidence")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    name: str
    value: str
    evidence: str
    confidence: float
    def __init__(self, name: _Optional[str] = ..., value: _Optional[str] = ..., evidence: _Optional[str] = ..., confidence: _Optional[float] = ...) -> None: ...

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

class RecordOutboundSentRequest(_message.Message):
    __slots__ = ("tenant_id", "message_id", "provider", "provider_message_id")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    message_id: str
    provider: str
    provider_message_id: str
    def __init__(self, tenant_id: _Optional[str] = ..., message_id: _Optional[str] = ..., provider: _Optional[str] = ..., provider_message_id: _Optional[str] = ...) -> None: ...

class RecordOutboundSentResponse(_message.Message):
    __slots__ = ("status",)
    STATUS_FIELD_NUMBER: _ClassVar[int]
    status: str
    def __init__(self, status: _Optional[str] = ...) -> None: ...

class RecordOutboundSentBatchRequest(_message.Message):
    __slots__ = ("items",)
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[RecordOutboundSentRequest]
    def __init__(self, items: _Optional[_Iterable[_Union[RecordOutboundSentRequest, _Mapping]]] = ...) -> None: ...

class RecordOutboundSentResult(_message.Message):
    __slots__ = ("ok", "error")
    OK_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    ok: RecordOutboundSentResponse
    error: IngestItemError
    def __init__(self, ok: _Optional[_Union[RecordOutboundSentResponse, _Mapping]] = ..., error: _Optional[_Union[IngestItemError, _Mapping]] = ...) -> None: ...

class RecordOutboundSentBatchResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[RecordOutboundSentResult]
    def __init__(self, results: _Optional[_Iterable[_Union[RecordOutboundSentResult, _Mapping]]] = ...) -> None: ...

class RecordStatusRequest(_message.Message):
    __slots__ = ("tenant_id", "provider", "provider_message_id", "status", "error_code", "error_title", "at")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    ERROR_CODE_FIELD_NUMBER: _ClassVar[int]
    ERROR_TITLE_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    provider: str
    provider_message_id: str
    status: DeliveryStatus
    error_code: str
    error_title: str
    at: _timestamp_pb2.Timestamp
    def __init__(self, tenant_id: _Optional[str] = ..., provider: _Optional[str] = ..., provider_message_id: _Optional[str] = ..., status: _Optional[_Union[DeliveryStatus, str]] = ..., error_code: _Optional[str] = ..., error_title: _Optional[str] = ..., at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class RecordStatusResponse(_message.Message):
    __slots__ = ("found", "created", "message_status")
    FOUND_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_STATUS_FIELD_NUMBER: _ClassVar[int]
    found: bool
    created: bool
    message_status: str
    def __init__(self, found: _Optional[bool] = ..., created: _Optional[bool] = ..., message_status: _Optional[str] = ...) -> None: ...

class ListLeadsRequest(_message.Message):
    __slots__ = ("tenant_id", "status", "assigned_user_id", "unassigned_or_mine", "query", "created_from", "created_to", "active_from", "active_to", "cursor", "limit")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    ASSIGNED_USER_ID_FIELD_NUMBER: _ClassVar[int]
    UNASSIGNED_OR_MINE_FIELD_NUMBER: _ClassVar[int]
    QUERY_FIELD_NUMBER: _ClassVar[int]
    CREATED_FROM_FIELD_NUMBER: _ClassVar[int]
    CREATED_TO_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_FROM_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_TO_FIELD_NUMBER: _ClassVar[int]
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    status: str
    assigned_user_id: str
    unassigned_or_mine: bool
    query: str
    created_from: _timestamp_pb2.Timestamp
    created_to: _timestamp_pb2.Timestamp
    active_from: _timestamp_pb2.Timestamp
    active_to: _timestamp_pb2.Timestamp
    cursor: str
    limit: int
    def __init__(self, tenant_id: _Optional[str] = ..., status: _Optional[str] = ..., assigned_user_id: _Optional[str] = ..., unassigned_or_mine: _Optional[bool] = ..., query: _Optional[str] = ..., created_from: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., created_to: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., active_from: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., active_to: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., cursor: _Optional[str] = ..., limit: _Optional[int] = ...) -> None: ...

class ListLeadsResponse(_message.Message):
    __slots__ = ("leads", "next_cursor")
    LEADS_FIELD_NUMBER: _ClassVar[int]
    NEXT_CURSOR_FIELD_NUMBER: _ClassVar[int]
    leads: _containers.RepeatedCompositeFieldContainer[Lead]
    next_cursor: str
    def __init__(self, leads: _Optional[_Iterable[_Union[Lead, _Mapping]]] = ..., next_cursor: _Optional[str] = ...) -> None: ...

class ChatMessage(_message.Message):
    __slots__ = ("id", "lead_id", "direction", "kind", "text", "media", "location", "reply_id", "provider", "status", "auto_reply_blocked", "sent_at", "created_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    LEAD_ID_FIELD_NUMBER: _ClassVar[int]
    DIRECTION_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    MEDIA_FIELD_NUMBER: _ClassVar[int]
    LOCATION_FIELD_NUMBER: _ClassVar[int]
    REPLY_ID_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    AUTO_REPLY_BLOCKED_FIELD_NUMBER: _ClassVar[int]
    SENT_AT_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    lead_id: str
    direction: Direction
    kind: MessageKind
    text: str
    media: Media
    location: Location
    reply_id: str
    provider: str
    status: str
    auto_reply_blocked: str
    sent_at: _timestamp_pb2.Timestamp
    created_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., lead_id: _Optional[str] = ..., direction: _Optional[_Union[Direction, str]] = ..., kind: _Optional[_Union[MessageKind, str]] = ..., text: _Optional[str] = ..., media: _Optional[_Union[Media, _Mapping]] = ..., location: _Optional[_Union[Location, _Mapping]] = ..., reply_id: _Optional[str] = ..., provider: _Optional[str] = ..., status: _Optional[str] = ..., auto_reply_blocked: _Optional[str] = ..., sent_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListMessagesRequest(_message.Message):
    __slots__ = ("tenant_id", "lead_id", "cursor", "limit")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    LEAD_ID_FIELD_NUMBER: _ClassVar[int]
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    lead_id: str
    cursor: str
    limit: int
    def __init__(self, tenant_id: _Optional[str] = ..., lead_id: _Optional[str] = ..., cursor: _Optional[str] = ..., limit: _Optional[int] = ...) -> None: ...

class ListMessagesResponse(_message.Message):
    __slots__ = ("messages", "next_cursor")
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    NEXT_CURSOR_FIELD_NUMBER: _ClassVar[int]
    messages: _containers.RepeatedCompositeFieldContainer[ChatMessage]
    next_cursor: str
    def __init__(self, messages: _Optional[_Iterable[_Union[ChatMessage, _Mapping]]] = ..., next_cursor: _Optional[str] = ...) -> None: ...

class UpdateLeadRequest(_message.Message):
    __slots__ = ("tenant_id", "lead_id", "status", "notes")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    LEAD_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    NOTES_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    lead_id: str
    status: str
    notes: str
    def __init__(self, tenant_id: _Optional[str] = ..., lead_id: _Optional[str] = ..., status: _Optional[str] = ..., notes: _Optional[str] = ...) -> None: ...

class UpdateLeadResponse(_message.Message):
    __slots__ = ("lead",)
    LEAD_FIELD_NUMBER: _ClassVar[int]
    lead: Lead
    def __init__(self, lead: _Optional[_Union[Lead, _Mapping]] = ...) -> None: ...

class TakeOverRequest(_message.Message):
    __slots__ = ("tenant_id", "lead_id")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    LEAD_ID_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    lead_id: str
    def __init__(self, tenant_id: _Optional[str] = ..., lead_id: _Optional[str] = ...) -> None: ...

class TakeOverResponse(_message.Message):
    __slots__ = ("lead",)
    LEAD_FIELD_NUMBER: _ClassVar[int]
    lead: Lead
    def __init__(self, lead: _Optional[_Union[Lead, _Mapping]] = ...) -> None: ...

class ReturnToAiRequest(_message.Message):
    __slots__ = ("tenant_id", "lead_id")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    LEAD_ID_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    lead_id: str
    def __init__(self, tenant_id: _Optional[str] = ..., lead_id: _Optional[str] = ...) -> None: ...

class ReturnToAiResponse(_message.Message):
    __slots__ = ("lead",)
    LEAD_FIELD_NUMBER: _ClassVar[int]
    lead: Lead
    def __init__(self, lead: _Optional[_Union[Lead, _Mapping]] = ...) -> None: ...

class SendHumanMessageRequest(_message.Message):
    __slots__ = ("tenant_id", "lead_id", "text")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    LEAD_ID_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    lead_id: str
    text: str
    def __init__(self, tenant_id: _Optional[str] = ..., lead_id: _Optional[str] = ..., text: _Optional[str] = ...) -> None: ...

class SendHumanMessageResponse(_message.Message):
    __slots__ = ("message", "delivery_id")
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    DELIVERY_ID_FIELD_NUMBER: _ClassVar[int]
    message: ChatMessage
    delivery_id: str
    def __init__(self, message: _Optional[_Union[ChatMessage, _Mapping]] = ..., delivery_id: _Optional[str] = ...) -> None: ...

class ConversationEvent(_message.Message):
    __slots__ = ("id", "kind", "reason", "actor", "message_id", "owner", "owner_user_id", "created_at", "detail")
    ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    OWNER_USER_ID_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    id: str
    kind: str
    reason: str
    actor: str
    message_id: str
    owner: str
    owner_user_id: str
    created_at: _timestamp_pb2.Timestamp
    detail: str
    def __init__(self, id: _Optional[str] = ..., kind: _Optional[str] = ..., reason: _Optional[str] = ..., actor: _Optional[str] = ..., message_id: _Optional[str] = ..., owner: _Optional[str] = ..., owner_user_id: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., detail: _Optional[str] = ...) -> None: ...

class ListConversationEventsRequest(_message.Message):
    __slots__ = ("tenant_id", "lead_id")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    LEAD_ID_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    lead_id: str
    def __init__(self, tenant_id: _Optional[str] = ..., lead_id: _Optional[str] = ...) -> None: ...

class ListConversationEventsResponse(_message.Message):
    __slots__ = ("events",)
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[ConversationEvent]
    def __init__(self, events: _Optional[_Iterable[_Union[ConversationEvent, _Mapping]]] = ...) -> None: ...

class DiagnoseLeadRequest(_message.Message):
    __slots__ = ("tenant_id", "lead_id")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    LEAD_ID_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    lead_id: str
    def __init__(self, tenant_id: _Optional[str] = ..., lead_id: _Optional[str] = ...) -> None: ...

class DiagnosisStep(_message.Message):
    __slots__ = ("name", "state", "summary", "at", "facts")
    class FactsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    FACTS_FIELD_NUMBER: _ClassVar[int]
    name: str
    state: str
    summary: str
    at: _timestamp_pb2.Timestamp
    facts: _containers.ScalarMap[str, str]
    def __init__(self, name: _Optional[str] = ..., state: _Optional[str] = ..., summary: _Optional[str] = ..., at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., facts: _Optional[_Mapping[str, str]] = ...) -> None: ...

class DiagnoseLeadResponse(_message.Message):
    __slots__ = ("lead_id", "message_id", "verdict", "broken_step", "advice", "steps")
    LEAD_ID_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    VERDICT_FIELD_NUMBER: _ClassVar[int]
    BROKEN_STEP_FIELD_NUMBER: _ClassVar[int]
    ADVICE_FIELD_NUMBER: _ClassVar[int]
    STEPS_FIELD_NUMBER: _ClassVar[int]
    lead_id: str
    message_id: str
    verdict: str
    broken_step: str
    advice: str
    steps: _containers.RepeatedCompositeFieldContainer[DiagnosisStep]
    def __init__(self, lead_id: _Optional[str] = ..., message_id: _Optional[str] = ..., verdict: _Optional[str] = ..., broken_step: _Optional[str] = ..., advice: _Optional[str] = ..., steps: _Optional[_Iterable[_Union[DiagnosisStep, _Mapping]]] = ...) -> None: ...

class AssignLeadRequest(_message.Message):
    __slots__ = ("tenant_id", "lead_id", "user_id")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    LEAD_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    lead_id: str
    user_id: str
    def __init__(self, tenant_id: _Optional[str] = ..., lead_id: _Optional[str] = ..., user_id: _Optional[str] = ...) -> None: ...

class AssignLeadResponse(_message.Message):
    __slots__ = ("lead",)
    LEAD_FIELD_NUMBER: _ClassVar[int]
    lead: Lead
    def __init__(self, lead: _Optional[_Union[Lead, _Mapping]] = ...) -> None: ...

class WatchEventsRequest(_message.Message):
    __slots__ = ("tenant_id",)
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    def __init__(self, tenant_id: _Optional[str] = ...) -> None: ...

class WatchEventsResponse(_message.Message):
    __slots__ = ("type", "tenant_id", "lead_id", "assigned_user_id", "at")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    LEAD_ID_FIELD_NUMBER: _ClassVar[int]
    ASSIGNED_USER_ID_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    type: str
    tenant_id: str
    lead_id: str
    assigned_user_id: str
    at: _timestamp_pb2.Timestamp
    def __init__(self, type: _Optional[str] = ..., tenant_id: _Optional[str] = ..., lead_id: _Optional[str] = ..., assigned_user_id: _Optional[str] = ..., at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
