import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class DeliveryStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DELIVERY_STATUS_UNSPECIFIED: _ClassVar[DeliveryStatus]
    DELIVERY_STATUS_QUEUED: _ClassVar[DeliveryStatus]
    DELIVERY_STATUS_SENT: _ClassVar[DeliveryStatus]
    DELIVERY_STATUS_DELIVERED: _ClassVar[DeliveryStatus]
    DELIVERY_STATUS_READ: _ClassVar[DeliveryStatus]
    DELIVERY_STATUS_FAILED: _ClassVar[DeliveryStatus]
    DELIVERY_STATUS_DEAD: _ClassVar[DeliveryStatus]
DELIVERY_STATUS_UNSPECIFIED: DeliveryStatus
DELIVERY_STATUS_QUEUED: DeliveryStatus
DELIVERY_STATUS_SENT: DeliveryStatus
DELIVERY_STATUS_DELIVERED: DeliveryStatus
DELIVERY_STATUS_READ: DeliveryStatus
DELIVERY_STATUS_FAILED: DeliveryStatus
DELIVERY_STATUS_DEAD: DeliveryStatus

class Delivery(_message.Message):
    __slots__ = ("id", "tenant_id", "message_id", "channel_id", "recipient", "status", "attempts", "provider", "provider_message_id", "last_error", "error_code", "next_attempt_at", "created_at", "updated_at", "template_name")
    ID_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_ID_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_FIELD_NUMBER: _ClassVar[int]
    ERROR_CODE_FIELD_NUMBER: _ClassVar[int]
    NEXT_ATTEMPT_AT_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_NAME_FIELD_NUMBER: _ClassVar[int]
    id: str
    tenant_id: str
    message_id: str
    channel_id: str
    recipient: str
    status: DeliveryStatus
    attempts: int
    provider: str
    provider_message_id: str
    last_error: str
    error_code: str
    next_attempt_at: _timestamp_pb2.Timestamp
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    template_name: str
    def __init__(self, id: _Optional[str] = ..., tenant_id: _Optional[str] = ..., message_id: _Optional[str] = ..., channel_id: _Optional[str] = ..., recipient: _Optional[str] = ..., status: _Optional[_Union[DeliveryStatus, str]] = ..., attempts: _Optional[int] = ..., provider: _Optional[str] = ..., provider_message_id: _Optional[str] = ..., last_error: _Optional[str] = ..., error_code: _Optional[str] = ..., next_attempt_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., template_name: _Optional[str] = ...) -> None: ...

class SendMessageRequest(_message.Message):
    __slots__ = ("tenant_id", "message_id", "channel_id", "recipient", "text", "wait", "window_open", "template_name", "template_language", "template_params")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_ID_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    WAIT_FIELD_NUMBER: _ClassVar[int]
    WINDOW_OPEN_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_NAME_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_PARAMS_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    message_id: str
    channel_id: str
    recipient: str
    text: str
    wait: bool
    window_open: bool
    template_name: str
    template_language: str
    template_params: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, tenant_id: _Optional[str] = ..., message_id: _Optional[str] = ..., channel_id: _Optional[str] = ..., recipient: _Optional[str] = ..., text: _Optional[str] = ..., wait: _Optional[bool] = ..., window_open: _Optional[bool] = ..., template_name: _Optional[str] = ..., template_language: _Optional[str] = ..., template_params: _Optional[_Iterable[str]] = ...) -> None: ...

class SendMessageResponse(_message.Message):
    __slots__ = ("delivery_id", "status", "created", "delivery")
    DELIVERY_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    DELIVERY_FIELD_NUMBER: _ClassVar[int]
    delivery_id: str
    status: DeliveryStatus
    created: bool
    delivery: Delivery
    def __init__(self, delivery_id: _Optional[str] = ..., status: _Optional[_Union[DeliveryStatus, str]] = ..., created: _Optional[bool] = ..., delivery: _Optional[_Union[Delivery, _Mapping]] = ...) -> None: ...

class GetDeliveryRequest(_message.Message):
    __slots__ = ("tenant_id", "delivery_id")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    DELIVERY_ID_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    delivery_id: str
    def __init__(self, tenant_id: _Optional[str] = ..., delivery_id: _Optional[str] = ...) -> None: ...

class GetDeliveryResponse(_message.Message):
    __slots__ = ("delivery",)
    DELIVERY_FIELD_NUMBER: _ClassVar[int]
    delivery: Delivery
    def __init__(self, delivery: _Optional[_Union[Delivery, _Mapping]] = ...) -> None: ...

class ListDeliveriesRequest(_message.Message):
    __slots__ = ("tenant_id", "status", "cursor", "page_size", "message_id")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    status: DeliveryStatus
    cursor: str
    page_size: int
    message_id: str
    def __init__(self, tenant_id: _Optional[str] = ..., status: _Optional[_Union[DeliveryStatus, str]] = ..., cursor: _Optional[str] = ..., page_size: _Optional[int] = ..., message_id: _Optional[str] = ...) -> None: ...

class ListDeliveriesResponse(_message.Message):
    __slots__ = ("deliveries", "next_cursor")
    DELIVERIES_FIELD_NUMBER: _ClassVar[int]
    NEXT_CURSOR_FIELD_NUMBER: _ClassVar[int]
    deliveries: _containers.RepeatedCompositeFieldContainer[Delivery]
    next_cursor: str
    def __init__(self, deliveries: _Optional[_Iterable[_Union[Delivery, _Mapping]]] = ..., next_cursor: _Optional[str] = ...) -> None: ...

class ListDeadLettersRequest(_message.Message):
    __slots__ = ("tenant_id", "cursor", "page_size")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    cursor: str
    page_size: int
    def __init__(self, tenant_id: _Optional[str] = ..., cursor: _Optional[str] = ..., page_size: _Optional[int] = ...) -> None: ...

class ListDeadLettersResponse(_message.Message):
    __slots__ = ("deliveries", "next_cursor")
    DELIVERIES_FIELD_NUMBER: _ClassVar[int]
    NEXT_CURSOR_FIELD_NUMBER: _ClassVar[int]
    deliveries: _containers.RepeatedCompositeFieldContainer[Delivery]
    next_cursor: str
    def __init__(self, deliveries: _Optional[_Iterable[_Union[Delivery, _Mapping]]] = ..., next_cursor: _Optional[str] = ...) -> None: ...

class ReplayDeliveryRequest(_message.Message):
    __slots__ = ("tenant_id", "delivery_id")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    DELIVERY_ID_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    delivery_id: str
    def __init__(self, tenant_id: _Optional[str] = ..., delivery_id: _Optional[str] = ...) -> None: ...

class ReplayDeliveryResponse(_message.Message):
    __slots__ = ("delivery",)
    DELIVERY_FIELD_NUMBER: _ClassVar[int]
    delivery: Delivery
    def __init__(self, delivery: _Optional[_Union[Delivery, _Mapping]] = ...) -> None: ...

class RecordProviderStatusRequest(_message.Message):
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

class RecordProviderStatusResponse(_message.Message):
    __slots__ = ("found", "recorded", "delivery")
    FOUND_FIELD_NUMBER: _ClassVar[int]
    RECORDED_FIELD_NUMBER: _ClassVar[int]
    DELIVERY_FIELD_NUMBER: _ClassVar[int]
    found: bool
    recorded: bool
    delivery: Delivery
    def __init__(self, found: _Optional[bool] = ..., recorded: _Optional[bool] = ..., delivery: _Optional[_Union[Delivery, _Mapping]] = ...) -> None: ...

class PushSubscription(_message.Message):
    __slots__ = ("id", "tenant_id", "user_id", "endpoint", "created_at", "last_success_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    ENDPOINT_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    LAST_SUCCESS_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    tenant_id: str
    user_id: str
    endpoint: str
    created_at: _timestamp_pb2.Timestamp
    last_success_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., tenant_id: _Optional[str] = ..., user_id: _Optional[str] = ..., endpoint: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_success_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class RegisterPushSubscriptionRequest(_message.Message):
    __slots__ = ("tenant_id", "user_id", "endpoint", "p256dh", "auth")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    ENDPOINT_FIELD_NUMBER: _ClassVar[int]
    P256DH_FIELD_NUMBER: _ClassVar[int]
    AUTH_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    user_id: str
    endpoint: str
    p256dh: str
    auth: str
    def __init__(self, tenant_id: _Optional[str] = ..., user_id: _Optional[str] = ..., endpoint: _Optional[str] = ..., p256dh: _Optional[str] = ..., auth: _Optional[str] = ...) -> None: ...

class RegisterPushSubscriptionResponse(_message.Message):
    __slots__ = ("subscription",)
    SUBSCRIPTION_FIELD_NUMBER: _ClassVar[int]
    subscription: PushSubscription
    def __init__(self, subscription: _Optional[_Union[PushSubscription, _Mapping]] = ...) -> None: ...

class DeletePushSubscriptionRequest(_message.Message):
    __slots__ = ("tenant_id", "user_id", "endpoint")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    ENDPOINT_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    user_id: str
    endpoint: str
    def __init__(self, tenant_id: _Optional[str] = ..., user_id: _Optional[str] = ..., endpoint: _Optional[str] = ...) -> None: ...

class DeletePushSubscriptionResponse(_message.Message):
    __slots__ = ("deleted",)
    DELETED_FIELD_NUMBER: _ClassVar[int]
    deleted: bool
    def __init__(self, deleted: _Optional[bool] = ...) -> None: ...

class GetVapidPublicKeyRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetVapidPublicKeyResponse(_message.Message):
    __slots__ = ("public_key",)
    PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    public_key: str
    def __init__(self, public_key: _Optional[str] = ...) -> None: ...

class NotifyUserRequest(_message.Message):
    __slots__ = ("tenant_id", "user_id", "title", "body", "url", "data", "notification_id", "whatsapp_phone", "channel_id")
    class DataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    BODY_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    NOTIFICATION_ID_FIELD_NUMBER: _ClassVar[int]
    WHATSAPP_PHONE_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_ID_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    user_id: str
    title: str
    body: str
    url: str
    data: _containers.ScalarMap[str, str]
    notification_id: str
    whatsapp_phone: str
    channel_id: str
    def __init__(self, tenant_id: _Optional[str] = ..., user_id: _Optional[str] = ..., title: _Optional[str] = ..., body: _Optional[str] = ..., url: _Optional[str] = ..., data: _Optional[_Mapping[str, str]] = ..., notification_id: _Optional[str] = ..., whatsapp_phone: _Optional[str] = ..., channel_id: _Optional[str] = ...) -> None: ...

class NotifyUserResponse(_message.Message):
    __slots__ = ("pushed", "pruned", "failed", "delivery_id", "duplicate")
    PUSHED_FIELD_NUMBER: _ClassVar[int]
    PRUNED_FIELD_NUMBER: _ClassVar[int]
    FAILED_FIELD_NUMBER: _ClassVar[int]
    DELIVERY_ID_FIELD_NUMBER: _ClassVar[int]
    DUPLICATE_FIELD_NUMBER: _ClassVar[int]
    pushed: int
    pruned: int
    failed: int
    delivery_id: str
    duplicate: bool
    def __init__(self, pushed: _Optional[int] = ..., pruned: _Optional[int] = ..., failed: _Optional[int] = ..., delivery_id: _Optional[str] = ..., duplicate: _Optional[bool] = ...) -> None: ...
