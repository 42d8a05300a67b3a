import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class TenantStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TENANT_STATUS_UNSPECIFIED: _ClassVar[TenantStatus]
    TENANT_STATUS_ACTIVE: _ClassVar[TenantStatus]
    TENANT_STATUS_SUSPENDED: _ClassVar[TenantStatus]

class Provider(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PROVIDER_UNSPECIFIED: _ClassVar[Provider]
    PROVIDER_ZAPI: _ClassVar[Provider]
    PROVIDER_DIALOG360: _ClassVar[Provider]
    PROVIDER_GUPSHUP: _ClassVar[Provider]
    PROVIDER_META: _ClassVar[Provider]
TENANT_STATUS_UNSPECIFIED: TenantStatus
TENANT_STATUS_ACTIVE: TenantStatus
TENANT_STATUS_SUSPENDED: TenantStatus
PROVIDER_UNSPECIFIED: Provider
PROVIDER_ZAPI: Provider
PROVIDER_DIALOG360: Provider
PROVIDER_GUPSHUP: Provider
PROVIDER_META: Provider

class PlanLimits(_message.Message):
    __slots__ = ("leads_per_day_soft", "leads_per_day_hard", "messages_per_minute_soft", "messages_per_minute_hard")
    LEADS_PER_DAY_SOFT_FIELD_NUMBER: _ClassVar[int]
    LEADS_PER_DAY_HARD_FIELD_NUMBER: _ClassVar[int]
    MESSAGES_PER_MINUTE_SOFT_FIELD_NUMBER: _ClassVar[int]
    MESSAGES_PER_MINUTE_HARD_FIELD_NUMBER: _ClassVar[int]
    leads_per_day_soft: int
    leads_per_day_hard: int
    messages_per_minute_soft: int
    messages_per_minute_hard: int
    def __init__(self, leads_per_day_soft: _Optional[int] = ..., leads_per_day_hard: _Optional[int] = ..., messages_per_minute_soft: _Optional[int] = ..., messages_per_minute_hard: _Optional[int] = ...) -> None: ...

class Tenant(_message.Message):
    __slots__ = ("id", "name", "slug", "niche_id", "status", "limits", "created_at", "updated_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    SLUG_FIELD_NUMBER: _ClassVar[int]
    NICHE_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    LIMITS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    slug: str
    niche_id: int
    status: TenantStatus
    limits: PlanLimits
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., slug: _Optional[str] = ..., niche_id: _Optional[int] = ..., status: _Optional[_Union[TenantStatus, str]] = ..., limits: _Optional[_Union[PlanLimits, _Mapping]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CreateTenantRequest(_message.Message):
    __slots__ = ("name", "slug", "niche_id", "limits")
    NAME_FIELD_NUMBER: _ClassVar[int]
    SLUG_FIELD_NUMBER: _ClassVar[int]
    NICHE_ID_FIELD_NUMBER: _ClassVar[int]
    LIMITS_FIELD_NUMBER: _ClassVar[int]
    name: str
    slug: str
    niche_id: int
    limits: PlanLimits
    def __init__(self, name: _Optional[str] = ..., slug: _Optional[str] = ..., niche_id: _Optional[int] = ..., limits: _Optional[_Union[PlanLimits, _Mapping]] = ...) -> None: ...

class CreateTenantResponse(_message.Message):
    __slots__ = ("tenant",)
    TENANT_FIELD_NUMBER: _ClassVar[int]
    tenant: Tenant
    def __init__(self, tenant: _Optional[_Union[Tenant, _Mapping]] = ...) -> None: ...

class GetTenantRequest(_message.Message):
    __slots__ = ("tenant_id",)
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    def __init__(self, tenant_id: _Optional[str] = ...) -> None: ...

class GetTenantResponse(_message.Message):
    __slots__ = ("tenant",)
    TENANT_FIELD_NUMBER: _ClassVar[int]
    tenant: Tenant
    def __init__(self, tenant: _Optional[_Union[Tenant, _Mapping]] = ...) -> None: ...

class ResolveChannelRequest(_message.Message):
    __slots__ = ("provider", "external_id", "webhook_token")
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    EXTERNAL_ID_FIELD_NUMBER: _ClassVar[int]
    WEBHOOK_TOKEN_FIELD_NUMBER: _ClassVar[int]
    provider: Provider
    external_id: str
    webhook_token: str
    def __init__(self, provider: _Optional[_Union[Provider, str]] = ..., external_id: _Optional[str] = ..., webhook_token: _Optional[str] = ...) -> None: ...

class Channel(_message.Message):
    __slots__ = ("id", "tenant_id", "provider", "external_id", "phone_number", "active")
    ID_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    EXTERNAL_ID_FIELD_NUMBER: _ClassVar[int]
    PHONE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_FIELD_NUMBER: _ClassVar[int]
    id: str
    tenant_id: str
    provider: Provider
    external_id: str
    phone_number: str
    active: bool
    def __init__(self, id: _Optional[str] = ..., tenant_id: _Optional[str] = ..., provider: _Optional[_Union[Provider, str]] = ..., external_id: _Optional[str] = ..., phone_number: _Optional[str] = ..., active: _Optional[bool] = ...) -> None: ...

class ResolveChannelResponse(_message.Message):
    __slots__ = ("channel", "tenant")
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    channel: Channel
    tenant: Tenant
    def __init__(self, channel: _Optional[_Union[Channel, _Mapping]] = ..., tenant: _Optional[_Union[Tenant, _Mapping]] = ...) -> None: ...
