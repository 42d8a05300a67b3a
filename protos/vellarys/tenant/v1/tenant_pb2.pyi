import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
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

class Role(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ROLE_UNSPECIFIED: _ClassVar[Role]
    ROLE_SUPERADMIN: _ClassVar[Role]
    ROLE_ADMIN: _ClassVar[Role]
    ROLE_SELLER: _ClassVar[Role]
    ROLE_VIEWER: _ClassVar[Role]

class ProductPurpose(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PRODUCT_PURPOSE_UNSPECIFIED: _ClassVar[ProductPurpose]
    PRODUCT_PURPOSE_SALE: _ClassVar[ProductPurpose]
    PRODUCT_PURPOSE_RENT: _ClassVar[ProductPurpose]

class ProductStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PRODUCT_STATUS_UNSPECIFIED: _ClassVar[ProductStatus]
    PRODUCT_STATUS_AVAILABLE: _ClassVar[ProductStatus]
    PRODUCT_STATUS_RESERVED: _ClassVar[ProductStatus]
    PRODUCT_STATUS_SOLD: _ClassVar[ProductStatus]
    PRODUCT_STATUS_RENTED: _ClassVar[ProductStatus]
    PRODUCT_STATUS_INACTIVE: _ClassVar[ProductStatus]

class ImportOutcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    IMPORT_OUTCOME_UNSPECIFIED: _ClassVar[ImportOutcome]
    IMPORT_OUTCOME_CREATED: _ClassVar[ImportOutcome]
    IMPORT_OUTCOME_UPDATED: _ClassVar[ImportOutcome]
    IMPORT_OUTCOME_REJECTED: _ClassVar[ImportOutcome]
    IMPORT_OUTCOME_SKIPPED: _ClassVar[ImportOutcome]
TENANT_STATUS_UNSPECIFIED: TenantStatus
TENANT_STATUS_ACTIVE: TenantStatus
TENANT_STATUS_SUSPENDED: TenantStatus
PROVIDER_UNSPECIFIED: Provider
PROVIDER_ZAPI: Provider
PROVIDER_DIALOG360: Provider
PROVIDER_GUPSHUP: Provider
PROVIDER_META: Provider
ROLE_UNSPECIFIED: Role
ROLE_SUPERADMIN: Role
ROLE_ADMIN: Role
ROLE_SELLER: Role
ROLE_VIEWER: Role
PRODUCT_PURPOSE_UNSPECIFIED: ProductPurpose
PRODUCT_PURPOSE_SALE: ProductPurpose
PRODUCT_PURPOSE_RENT: ProductPurpose
PRODUCT_STATUS_UNSPECIFIED: ProductStatus
PRODUCT_STATUS_AVAILABLE: ProductStatus
PRODUCT_STATUS_RESERVED: ProductStatus
PRODUCT_STATUS_SOLD: ProductStatus
PRODUCT_STATUS_RENTED: ProductStatus
PRODUCT_STATUS_INACTIVE: ProductStatus
IMPORT_OUTCOME_UNSPECIFIED: ImportOutcome
IMPORT_OUTCOME_CREATED: ImportOutcome
IMPORT_OUTCOME_UPDATED: ImportOutcome
IMPORT_OUTCOME_REJECTED: ImportOutcome
IMPORT_OUTCOME_SKIPPED: ImportOutcome

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
    __slots__ = ("name", "slug", "niche_id", "limits", "source_ip")
    NAME_FIELD_NUMBER: _ClassVar[int]
    SLUG_FIELD_NUMBER: _ClassVar[int]
    NICHE_ID_FIELD_NUMBER: _ClassVar[int]
    LIMITS_FIELD_NUMBER: _ClassVar[int]
    SOURCE_IP_FIELD_NUMBER: _ClassVar[int]
    name: str
    slug: str
    niche_id: int
    limits: PlanLimits
    source_ip: str
    def __init__(self, name: _Optional[str] = ..., slug: _Optional[str] = ..., niche_id: _Optional[int] = ..., limits: _Optional[_Union[PlanLimits, _Mapping]] = ..., source_ip: _Optional[str] = ...) -> None: ...

class CreateTenantResponse(_message.Message):
    __slots__ = ("tenant", "warnings")
    TENANT_FIELD_NUMBER: _ClassVar[int]
    WARNINGS_FIELD_NUMBER: _ClassVar[int]
    tenant: Tenant
    warnings: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, tenant: _Optional[_Union[Tenant, _Mapping]] = ..., warnings: _Optional[_Iterable[str]] = ...) -> None: ...

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

class GetRoutingEpochRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetRoutingEpochResponse(_message.Message):
    __slots__ = ("epoch", "reply_data_epoch")
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    REPLY_DATA_EPOCH_FIELD_NUMBER: _ClassVar[int]
    epoch: int
    reply_data_epoch: int
    def __init__(self, epoch: _Optional[int] = ..., reply_data_epoch: _Optional[int] = ...) -> None: ...

class GetReplyDataChangesRequest(_message.Message):
    __slots__ = ("since_epoch",)
    SINCE_EPOCH_FIELD_NUMBER: _ClassVar[int]
    since_epoch: int
    def __init__(self, since_epoch: _Optional[int] = ...) -> None: ...

class GetReplyDataChangesResponse(_message.Message):
    __slots__ = ("reply_data_epoch", "everyone", "tenant_ids")
    REPLY_DATA_EPOCH_FIELD_NUMBER: _ClassVar[int]
    EVERYONE_FIELD_NUMBER: _ClassVar[int]
    TENANT_IDS_FIELD_NUMBER: _ClassVar[int]
    reply_data_epoch: int
    everyone: bool
    tenant_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, reply_data_epoch: _Optional[int] = ..., everyone: _Optional[bool] = ..., tenant_ids: _Optional[_Iterable[str]] = ...) -> None: ...

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
    __slots__ = ("channel", "tenant", "verification")
    class VerificationEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    VERIFICATION_FIELD_NUMBER: _ClassVar[int]
    channel: Channel
    tenant: Tenant
    verification: _containers.ScalarMap[str, str]
    def __init__(self, channel: _Optional[_Union[Channel, _Mapping]] = ..., tenant: _Optional[_Union[Tenant, _Mapping]] = ..., verification: _Optional[_Mapping[str, str]] = ...) -> None: ...

class Niche(_message.Message):
    __slots__ = ("id", "slug", "name", "prompt_template", "qualification_fields_json")
    ID_FIELD_NUMBER: _ClassVar[int]
    SLUG_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    PROMPT_TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    QUALIFICATION_FIELDS_JSON_FIELD_NUMBER: _ClassVar[int]
    id: int
    slug: str
    name: str
    prompt_template: str
    qualification_fields_json: str
    def __init__(self, id: _Optional[int] = ..., slug: _Optional[str] = ..., name: _Optional[str] = ..., prompt_template: _Optional[str] = ..., qualification_fields_json: _Optional[str] = ...) -> None: ...

class User(_message.Message):
    __slots__ = ("id", "tenant_id", "email", "name", "role", "phone", "active", "token_version", "created_at", "updated_at", "last_login_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    PHONE_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_FIELD_NUMBER: _ClassVar[int]
    TOKEN_VERSION_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    LAST_LOGIN_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    tenant_id: str
    email: str
    name: str
    role: Role
    phone: str
    active: bool
    token_version: int
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    last_login_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., tenant_id: _Optional[str] = ..., email: _Optional[str] = ..., name: _Optional[str] = ..., role: _Optional[_Union[Role, str]] = ..., phone: _Optional[str] = ..., active: _Optional[bool] = ..., token_version: _Optional[int] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_login_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class AuditEntry(_message.Message):
    __slots__ = ("id", "tenant_id", "actor_id", "actor_email", "action", "target_type", "target_id", "details_json", "source_ip", "created_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    ACTOR_ID_FIELD_NUMBER: _ClassVar[int]
    ACTOR_EMAIL_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    TARGET_TYPE_FIELD_NUMBER: _ClassVar[int]
    TARGET_ID_FIELD_NUMBER: _ClassVar[int]
    DETAILS_JSON_FIELD_NUMBER: _ClassVar[int]
    SOURCE_IP_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: int
    tenant_id: str
    actor_id: str
    actor_email: str
    action: str
    target_type: str
    target_id: str
    details_json: str
    source_ip: str
    created_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[int] = ..., tenant_id: _Optional[str] = ..., actor_id: _Optional[str] = ..., actor_email: _Optional[str] = ..., action: _Optional[str] = ..., target_type: _Optional[str] = ..., target_id: _Optional[str] = ..., details_json: _Optional[str] = ..., source_ip: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListTenantsRequest(_message.Message):
    __slots__ = ("limit", "offset")
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    limit: int
    offset: int
    def __init__(self, limit: _Optional[int] = ..., offset: _Optional[int] = ...) -> None: ...

class ListTenantsResponse(_message.Message):
    __slots__ = ("tenants", "total")
    TENANTS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    tenants: _containers.RepeatedCompositeFieldContainer[Tenant]
    total: int
    def __init__(self, tenants: _Optional[_Iterable[_Union[Tenant, _Mapping]]] = ..., total: _Optional[int] = ...) -> None: ...

class UpdateTenantRequest(_message.Message):
    __slots__ = ("tenant_id", "name", "niche_id", "limits", "source_ip")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    NICHE_ID_FIELD_NUMBER: _ClassVar[int]
    LIMITS_FIELD_NUMBER: _ClassVar[int]
    SOURCE_IP_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    name: str
    niche_id: int
    limits: PlanLimits
    source_ip: str
    def __init__(self, tenant_id: _Optional[str] = ..., name: _Optional[str] = ..., niche_id: _Optional[int] = ..., limits: _Optional[_Union[PlanLimits, _Mapping]] = ..., source_ip: _Optional[str] = ...) -> None: ...

class UpdateTenantResponse(_message.Message):
    __slots__ = ("tenant",)
    TENANT_FIELD_NUMBER: _ClassVar[int]
    tenant: Tenant
    def __init__(self, tenant: _Optional[_Union[Tenant, _Mapping]] = ...) -> None: ...

class SuspendTenantRequest(_message.Message):
    __slots__ = ("tenant_id", "source_ip")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    SOURCE_IP_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    source_ip: str
    def __init__(self, tenant_id: _Optional[str] = ..., source_ip: _Optional[str] = ...) -> None: ...

class SuspendTenantResponse(_message.Message):
    __slots__ = ("tenant",)
    TENANT_FIELD_NUMBER: _ClassVar[int]
    tenant: Tenant
    def __init__(self, tenant: _Optional[_Union[Tenant, _Mapping]] = ...) -> None: ...

class ReactivateTenantRequest(_message.Message):
    __slots__ = ("tenant_id", "source_ip")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    SOURCE_IP_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    source_ip: str
    def __init__(self, tenant_id: _Optional[str] = ..., source_ip: _Optional[str] = ...) -> None: ...

class ReactivateTenantResponse(_message.Message):
    __slots__ = ("tenant",)
    TENANT_FIELD_NUMBER: _ClassVar[int]
    tenant: Tenant
    def __init__(self, tenant: _Optional[_Union[Tenant, _Mapping]] = ...) -> None: ...

class ListNichesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListNichesResponse(_message.Message):
    __slots__ = ("niches",)
    NICHES_FIELD_NUMBER: _ClassVar[int]
    niches: _containers.RepeatedCompositeFieldContainer[Niche]
    def __init__(self, niches: _Optional[_Iterable[_Union[Niche, _Mapping]]] = ...) -> None: ...

class LoginRequest(_message.Message):
    __slots__ = ("email", "password", "source_ip")
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    PASSWORD_FIELD_NUMBER: _ClassVar[int]
    SOURCE_IP_FIELD_NUMBER: _ClassVar[int]
    email: str
    password: str
    source_ip: str
    def __init__(self, email: _Optional[str] = ..., password: _Optional[str] = ..., source_ip: _Optional[str] = ...) -> None: ...

class LoginResponse(_message.Message):
    __slots__ = ("user", "refresh_token", "refresh_expires_at")
    USER_FIELD_NUMBER: _ClassVar[int]
    REFRESH_TOKEN_FIELD_NUMBER: _ClassVar[int]
    REFRESH_EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    user: User
    refresh_token: str
    refresh_expires_at: _timestamp_pb2.Timestamp
    def __init__(self, user: _Optional[_Union[User, _Mapping]] = ..., refresh_token: _Optional[str] = ..., refresh_expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class RefreshRequest(_message.Message):
    __slots__ = ("refresh_token", "source_ip")
    REFRESH_TOKEN_FIELD_NUMBER: _ClassVar[int]
    SOURCE_IP_FIELD_NUMBER: _ClassVar[int]
    refresh_token: str
    source_ip: str
    def __init__(self, refresh_token: _Optional[str] = ..., source_ip: _Optional[str] = ...) -> None: ...

class RefreshResponse(_message.Message):
    __slots__ = ("user", "refresh_token", "refresh_expires_at")
    USER_FIELD_NUMBER: _ClassVar[int]
    REFRESH_TOKEN_FIELD_NUMBER: _ClassVar[int]
    REFRESH_EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    user: User
    refresh_token: str
    refresh_expires_at: _timestamp_pb2.Timestamp
    def __init__(self, user: _Optional[_Union[User, _Mapping]] = ..., refresh_token: _Optional[str] = ..., refresh_expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class LogoutRequest(_message.Message):
    __slots__ = ("refresh_token", "source_ip")
    REFRESH_TOKEN_FIELD_NUMBER: _ClassVar[int]
    SOURCE_IP_FIELD_NUMBER: _ClassVar[int]
    refresh_token: str
    source_ip: str
    def __init__(self, refresh_token: _Optional[str] = ..., source_ip: _Optional[str] = ...) -> None: ...

class LogoutResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetPrincipalRequest(_message.Message):
    __slots__ = ("user_id", "token_version")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    TOKEN_VERSION_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    token_version: int
    def __init__(self, user_id: _Optional[str] = ..., token_version: _Optional[int] = ...) -> None: ...

class GetPrincipalResponse(_message.Message):
    __slots__ = ("user",)
    USER_FIELD_NUMBER: _ClassVar[int]
    user: User
    def __init__(self, user: _Optional[_Union[User, _Mapping]] = ...) -> None: ...

class CreateUserRequest(_message.Message):
    __slots__ = ("tenant_id", "email", "name", "role", "password", "phone", "source_ip")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    PASSWORD_FIELD_NUMBER: _ClassVar[int]
    PHONE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_IP_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    email: str
    name: str
    role: Role
    password: str
    phone: str
    source_ip: str
    def __init__(self, tenant_id: _Optional[str] = ..., email: _Optional[str] = ..., name: _Optional[str] = ..., role: _Optional[_Union[Role, str]] = ..., password: _Optional[str] = ..., phone: _Optional[str] = ..., source_ip: _Optional[str] = ...) -> None: ...

class CreateUserResponse(_message.Message):
    __slots__ = ("user", "temporary_password")
    USER_FIELD_NUMBER: _ClassVar[int]
    TEMPORARY_PASSWORD_FIELD_NUMBER: _ClassVar[int]
    user: User
    temporary_password: str
    def __init__(self, user: _Optional[_Union[User, _Mapping]] = ..., temporary_password: _Optional[str] = ...) -> None: ...

class ListUsersRequest(_message.Message):
    __slots__ = ("tenant_id", "limit", "offset")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    limit: int
    offset: int
    def __init__(self, tenant_id: _Optional[str] = ..., limit: _Optional[int] = ..., offset: _Optional[int] = ...) -> None: ...

class ListUsersResponse(_message.Message):
    __slots__ = ("users", "total")
    USERS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    users: _containers.RepeatedCompositeFieldContainer[User]
    total: int
    def __init__(self, users: _Optional[_Iterable[_Union[User, _Mapping]]] = ..., total: _Optional[int] = ...) -> None: ...

class GetUserRequest(_message.Message):
    __slots__ = ("user_id",)
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    def __init__(self, user_id: _Optional[str] = ...) -> None: ...

class GetUserResponse(_message.Message):
    __slots__ = ("user",)
    USER_FIELD_NUMBER: _ClassVar[int]
    user: User
    def __init__(self, user: _Optional[_Union[User, _Mapping]] = ...) -> None: ...

class UpdateUserRequest(_message.Message):
    __slots__ = ("user_id", "name", "role", "phone", "active", "source_ip")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    PHONE_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_IP_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    name: str
    role: Role
    phone: str
    active: bool
    source_ip: str
    def __init__(self, user_id: _Optional[str] = ..., name: _Optional[str] = ..., role: _Optional[_Union[Role, str]] = ..., phone: _Optional[str] = ..., active: _Optional[bool] = ..., source_ip: _Optional[str] = ...) -> None: ...

class UpdateUserResponse(_message.Message):
    __slots__ = ("user",)
    USER_FIELD_NUMBER: _ClassVar[int]
    user: User
    def __init__(self, user: _Optional[_Union[User, _Mapping]] = ...) -> None: ...

class DeactivateUserRequest(_message.Message):
    __slots__ = ("user_id", "source_ip")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    SOURCE_IP_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    source_ip: str
    def __init__(self, user_id: _Optional[str] = ..., source_ip: _Optional[str] = ...) -> None: ...

class DeactivateUserResponse(_message.Message):
    __slots__ = ("user",)
    USER_FIELD_NUMBER: _ClassVar[int]
    user: User
    def __init__(self, user: _Optional[_Union[User, _Mapping]] = ...) -> None: ...

class ResetPasswordRequest(_message.Message):
    __slots__ = ("user_id", "password", "source_ip")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    PASSWORD_FIELD_NUMBER: _ClassVar[int]
    SOURCE_IP_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    password: str
    source_ip: str
    def __init__(self, user_id: _Optional[str] = ..., password: _Optional[str] = ..., source_ip: _Optional[str] = ...) -> None: ...

class ResetPasswordResponse(_message.Message):
    __slots__ = ("user", "temporary_password")
    USER_FIELD_NUMBER: _ClassVar[int]
    TEMPORARY_PASSWORD_FIELD_NUMBER: _ClassVar[int]
    user: User
    temporary_password: str
    def __init__(self, user: _Optional[_Union[User, _Mapping]] = ..., temporary_password: _Optional[str] = ...) -> None: ...

class ListAuditRequest(_message.Message):
    __slots__ = ("tenant_id", "limit", "before_id")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    BEFORE_ID_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    limit: int
    before_id: int
    def __init__(self, tenant_id: _Optional[str] = ..., limit: _Optional[int] = ..., before_id: _Optional[int] = ...) -> None: ...

class ListAuditResponse(_message.Message):
    __slots__ = ("entries", "next_before_id")
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    NEXT_BEFORE_ID_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[AuditEntry]
    next_before_id: int
    def __init__(self, entries: _Optional[_Iterable[_Union[AuditEntry, _Mapping]]] = ..., next_before_id: _Optional[int] = ...) -> None: ...

class ChannelConfig(_message.Message):
    __slots__ = ("id", "tenant_id", "provider", "name", "external_id", "phone_number", "active", "masked_secrets", "webhook_path", "created_at", "updated_at")
    class MaskedSecretsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    EXTERNAL_ID_FIELD_NUMBER: _ClassVar[int]
    PHONE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_FIELD_NUMBER: _ClassVar[int]
    MASKED_SECRETS_FIELD_NUMBER: _ClassVar[int]
    WEBHOOK_PATH_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    tenant_id: str
    provider: Provider
    name: str
    external_id: str
    phone_number: str
    active: bool
    masked_secrets: _containers.ScalarMap[str, str]
    webhook_path: str
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., tenant_id: _Optional[str] = ..., provider: _Optional[_Union[Provider, str]] = ..., name: _Optional[str] = ..., external_id: _Optional[str] = ..., phone_number: _Optional[str] = ..., active: _Optional[bool] = ..., masked_secrets: _Optional[_Mapping[str, str]] = ..., webhook_path: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListChannelsRequest(_message.Message):
    __slots__ = ("tenant_id",)
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    def __init__(self, tenant_id: _Optional[str] = ...) -> None: ...

class ListChannelsResponse(_message.Message):
    __slots__ = ("channels",)
    CHANNELS_FIELD_NUMBER: _ClassVar[int]
    channels: _containers.RepeatedCompositeFieldContainer[ChannelConfig]
    def __init__(self, channels: _Optional[_Iterable[_Union[ChannelConfig, _Mapping]]] = ...) -> None: ...

class CreateChannelRequest(_message.Message):
    __slots__ = ("tenant_id", "provider", "name", "external_id", "phone_number", "secrets")
    class SecretsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    EXTERNAL_ID_FIELD_NUMBER: _ClassVar[int]
    PHONE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    SECRETS_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    provider: Provider
    name: str
    external_id: str
    phone_number: str
    secrets: _containers.ScalarMap[str, str]
    def __init__(self, tenant_id: _Optional[str] = ..., provider: _Optional[_Union[Provider, str]] = ..., name: _Optional[str] = ..., external_id: _Optional[str] = ..., phone_number: _Optional[str] = ..., secrets: _Optional[_Mapping[str, str]] = ...) -> None: ...

class CreateChannelResponse(_message.Message):
    __slots__ = ("channel",)
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    channel: ChannelConfig
    def __init__(self, channel: _Optional[_Union[ChannelConfig, _Mapping]] = ...) -> None: ...

class GetChannelRequest(_message.Message):
    __slots__ = ("tenant_id", "channel_id")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_ID_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    channel_id: str
    def __init__(self, tenant_id: _Optional[str] = ..., channel_id: _Optional[str] = ...) -> None: ...

class GetChannelResponse(_message.Message):
    __slots__ = ("channel",)
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    channel: ChannelConfig
    def __init__(self, channel: _Optional[_Union[ChannelConfig, _Mapping]] = ...) -> None: ...

class UpdateChannelRequest(_message.Message):
    __slots__ = ("tenant_id", "channel_id", "name", "external_id", "phone_number", "active", "secrets")
    class SecretsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    EXTERNAL_ID_FIELD_NUMBER: _ClassVar[int]
    PHONE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_FIELD_NUMBER: _ClassVar[int]
    SECRETS_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    channel_id: str
    name: str
    external_id: str
    phone_number: str
    active: bool
    secrets: _containers.ScalarMap[str, str]
    def __init__(self, tenant_id: _Optional[str] = ..., channel_id: _Optional[str] = ..., name: _Optional[str] = ..., external_id: _Optional[str] = ..., phone_number: _Optional[str] = ..., active: _Optional[bool] = ..., secrets: _Optional[_Mapping[str, str]] = ...) -> None: ...

class UpdateChannelResponse(_message.Message):
    __slots__ = ("channel",)
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    channel: ChannelConfig
    def __init__(self, channel: _Optional[_Union[ChannelConfig, _Mapping]] = ...) -> None: ...

class DeleteChannelRequest(_message.Message):
    __slots__ = ("tenant_id", "channel_id")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_ID_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    channel_id: str
    def __init__(self, tenant_id: _Optional[str] = ..., channel_id: _Optional[str] = ...) -> None: ...

class DeleteChannelResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class RotateChannelTokenRequest(_message.Message):
    __slots__ = ("tenant_id", "channel_id")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_ID_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    channel_id: str
    def __init__(self, tenant_id: _Optional[str] = ..., channel_id: _Optional[str] = ...) -> None: ...

class RotateChannelTokenResponse(_message.Message):
    __slots__ = ("channel",)
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    channel: ChannelConfig
    def __init__(self, channel: _Optional[_Union[ChannelConfig, _Mapping]] = ...) -> None: ...

class GetChannelCredentialsRequest(_message.Message):
    __slots__ = ("channel_id",)
    CHANNEL_ID_FIELD_NUMBER: _ClassVar[int]
    channel_id: str
    def __init__(self, channel_id: _Optional[str] = ...) -> None: ...

class GetChannelCredentialsResponse(_message.Message):
    __slots__ = ("channel", "secrets")
    class SecretsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    SECRETS_FIELD_NUMBER: _ClassVar[int]
    channel: ChannelConfig
    secrets: _containers.ScalarMap[str, str]
    def __init__(self, channel: _Optional[_Union[ChannelConfig, _Mapping]] = ..., secrets: _Optional[_Mapping[str, str]] = ...) -> None: ...

class HandoffRules(_message.Message):
    __slots__ = ("score_threshold", "keywords", "on_human_request")
    SCORE_THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    KEYWORDS_FIELD_NUMBER: _ClassVar[int]
    ON_HUMAN_REQUEST_FIELD_NUMBER: _ClassVar[int]
    score_threshold: int
    keywords: _containers.RepeatedScalarFieldContainer[str]
    on_human_request: bool
    def __init__(self, score_threshold: _Optional[int] = ..., keywords: _Optional[_Iterable[str]] = ..., on_human_request: _Optional[bool] = ...) -> None: ...

class AiSettings(_message.Message):
    __slots__ = ("system_prompt", "tone", "company_info", "business_hours", "greeting", "fallback_message", "handoff", "model", "temperature", "debounce_seconds")
    SYSTEM_PROMPT_FIELD_NUMBER: _ClassVar[int]
    TONE_FIELD_NUMBER: _ClassVar[int]
    COMPANY_INFO_FIELD_NUMBER: _ClassVar[int]
    BUSINESS_HOURS_FIELD_NUMBER: _ClassVar[int]
    GREETING_FIELD_NUMBER: _ClassVar[int]
    FALLBACK_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    HANDOFF_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    TEMPERATURE_FIELD_NUMBER: _ClassVar[int]
    DEBOUNCE_SECONDS_FIELD_NUMBER: _ClassVar[int]
    system_prompt: str
    tone: str
    company_info: str
    business_hours: str
    greeting: str
    fallback_message: str
    handoff: HandoffRules
    model: str
    temperature: float
    debounce_seconds: int
    def __init__(self, system_prompt: _Optional[str] = ..., tone: _Optional[str] = ..., company_info: _Optional[str] = ..., business_hours: _Optional[str] = ..., greeting: _Optional[str] = ..., fallback_message: _Optional[str] = ..., handoff: _Optional[_Union[HandoffRules, _Mapping]] = ..., model: _Optional[str] = ..., temperature: _Optional[float] = ..., debounce_seconds: _Optional[int] = ...) -> None: ...

class AiSettingsVersion(_message.Message):
    __slots__ = ("version", "actor_id", "actor_email", "created_at", "settings", "rolled_back_from")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    ACTOR_ID_FIELD_NUMBER: _ClassVar[int]
    ACTOR_EMAIL_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    SETTINGS_FIELD_NUMBER: _ClassVar[int]
    ROLLED_BACK_FROM_FIELD_NUMBER: _ClassVar[int]
    version: int
    actor_id: str
    actor_email: str
    created_at: _timestamp_pb2.Timestamp
    settings: AiSettings
    rolled_back_from: int
    def __init__(self, version: _Optional[int] = ..., actor_id: _Optional[str] = ..., actor_email: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., settings: _Optional[_Union[AiSettings, _Mapping]] = ..., rolled_back_from: _Optional[int] = ...) -> None: ...

class GetAiSettingsRequest(_message.Message):
    __slots__ = ("tenant_id",)
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    def __init__(self, tenant_id: _Optional[str] = ...) -> None: ...

class GetAiSettingsResponse(_message.Message):
    __slots__ = ("current",)
    CURRENT_FIELD_NUMBER: _ClassVar[int]
    current: AiSettingsVersion
    def __init__(self, current: _Optional[_Union[AiSettingsVersion, _Mapping]] = ...) -> None: ...

class UpdateAiSettingsRequest(_message.Message):
    __slots__ = ("tenant_id", "settings", "fields", "actor_email")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    SETTINGS_FIELD_NUMBER: _ClassVar[int]
    FIELDS_FIELD_NUMBER: _ClassVar[int]
    ACTOR_EMAIL_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    settings: AiSettings
    fields: _containers.RepeatedScalarFieldContainer[str]
    actor_email: str
    def __init__(self, tenant_id: _Optional[str] = ..., settings: _Optional[_Union[AiSettings, _Mapping]] = ..., fields: _Optional[_Iterable[str]] = ..., actor_email: _Optional[str] = ...) -> None: ...

class UpdateAiSettingsResponse(_message.Message):
    __slots__ = ("current",)
    CURRENT_FIELD_NUMBER: _ClassVar[int]
    current: AiSettingsVersion
    def __init__(self, current: _Optional[_Union[AiSettingsVersion, _Mapping]] = ...) -> None: ...

class ListAiSettingsVersionsRequest(_message.Message):
    __slots__ = ("tenant_id", "page_size", "before_version")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    BEFORE_VERSION_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    page_size: int
    before_version: int
    def __init__(self, tenant_id: _Optional[str] = ..., page_size: _Optional[int] = ..., before_version: _Optional[int] = ...) -> None: ...

class ListAiSettingsVersionsResponse(_message.Message):
    __slots__ = ("versions",)
    VERSIONS_FIELD_NUMBER: _ClassVar[int]
    versions: _containers.RepeatedCompositeFieldContainer[AiSettingsVersion]
    def __init__(self, versions: _Optional[_Iterable[_Union[AiSettingsVersion, _Mapping]]] = ...) -> None: ...

class GetAiSettingsVersionRequest(_message.Message):
    __slots__ = ("tenant_id", "version")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    version: int
    def __init__(self, tenant_id: _Optional[str] = ..., version: _Optional[int] = ...) -> None: ...

class GetAiSettingsVersionResponse(_message.Message):
    __slots__ = ("version",)
    VERSION_FIELD_NUMBER: _ClassVar[int]
    version: AiSettingsVersion
    def __init__(self, version: _Optional[_Union[AiSettingsVersion, _Mapping]] = ...) -> None: ...

class DiffAiSettingsRequest(_message.Message):
    __slots__ = ("tenant_id", "from_version", "to_version")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    FROM_VERSION_FIELD_NUMBER: _ClassVar[int]
    TO_VERSION_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    from_version: int
    to_version: int
    def __init__(self, tenant_id: _Optional[str] = ..., from_version: _Optional[int] = ..., to_version: _Optional[int] = ...) -> None: ...

class AiSettingsChange(_message.Message):
    __slots__ = ("field", "from_value", "to_value")
    FIELD_FIELD_NUMBER: _ClassVar[int]
    FROM_VALUE_FIELD_NUMBER: _ClassVar[int]
    TO_VALUE_FIELD_NUMBER: _ClassVar[int]
    field: str
    from_value: str
    to_value: str
    def __init__(self, field: _Optional[str] = ..., from_value: _Optional[str] = ..., to_value: _Optional[str] = ...) -> None: ...

class DiffAiSettingsResponse(_message.Message):
    __slots__ = ("changes",)
    CHANGES_FIELD_NUMBER: _ClassVar[int]
    changes: _containers.RepeatedCompositeFieldContainer[AiSettingsChange]
    def __init__(self, changes: _Optional[_Iterable[_Union[AiSettingsChange, _Mapping]]] = ...) -> None: ...

class RollbackAiSettingsRequest(_message.Message):
    __slots__ = ("tenant_id", "version", "actor_email")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    ACTOR_EMAIL_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    version: int
    actor_email: str
    def __init__(self, tenant_id: _Optional[str] = ..., version: _Optional[int] = ..., actor_email: _Optional[str] = ...) -> None: ...

class RollbackAiSettingsResponse(_message.Message):
    __slots__ = ("current",)
    CURRENT_FIELD_NUMBER: _ClassVar[int]
    current: AiSettingsVersion
    def __init__(self, current: _Optional[_Union[AiSettingsVersion, _Mapping]] = ...) -> None: ...

class ProductInput(_message.Message):
    __slots__ = ("code", "title", "type", "purpose", "price_cents", "condo_fee_cents", "area_m2", "bedrooms", "suites", "parking_spots", "neighbourhood", "city", "description", "photo_urls", "listing_url", "status", "trigger_keywords", "seller_id")
    CODE_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    PRICE_CENTS_FIELD_NUMBER: _ClassVar[int]
    CONDO_FEE_CENTS_FIELD_NUMBER: _ClassVar[int]
    AREA_M2_FIELD_NUMBER: _ClassVar[int]
    BEDROOMS_FIELD_NUMBER: _ClassVar[int]
    SUITES_FIELD_NUMBER: _ClassVar[int]
    PARKING_SPOTS_FIELD_NUMBER: _ClassVar[int]
    NEIGHBOURHOOD_FIELD_NUMBER: _ClassVar[int]
    CITY_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    PHOTO_URLS_FIELD_NUMBER: _ClassVar[int]
    LISTING_URL_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    TRIGGER_KEYWORDS_FIELD_NUMBER: _ClassVar[int]
    SELLER_ID_FIELD_NUMBER: _ClassVar[int]
    code: str
    title: str
    type: str
    purpose: ProductPurpose
    price_cents: int
    condo_fee_cents: int
    area_m2: float
    bedrooms: int
    suites: int
    parking_spots: int
    neighbourhood: str
    city: str
    description: str
    photo_urls: _containers.RepeatedScalarFieldContainer[str]
    listing_url: str
    status: ProductStatus
    trigger_keywords: _containers.RepeatedScalarFieldContainer[str]
    seller_id: str
    def __init__(self, code: _Optional[str] = ..., title: _Optional[str] = ..., type: _Optional[str] = ..., purpose: _Optional[_Union[ProductPurpose, str]] = ..., price_cents: _Optional[int] = ..., condo_fee_cents: _Optional[int] = ..., area_m2: _Optional[float] = ..., bedrooms: _Optional[int] = ..., suites: _Optional[int] = ..., parking_spots: _Optional[int] = ..., neighbourhood: _Optional[str] = ..., city: _Optional[str] = ..., description: _Optional[str] = ..., photo_urls: _Optional[_Iterable[str]] = ..., listing_url: _Optional[str] = ..., status: _Optional[_Union[ProductStatus, str]] = ..., trigger_keywords: _Optional[_Iterable[str]] = ..., seller_id: _Optional[str] = ...) -> None: ...

class Product(_message.Message):
    __slots__ = ("id", "tenant_id", "fields", "created_at", "updated_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    FIELDS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    tenant_id: str
    fields: ProductInput
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., tenant_id: _Optional[str] = ..., fields: _Optional[_Union[ProductInput, _Mapping]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CreateProductRequest(_message.Message):
    __slots__ = ("tenant_id", "product")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    product: ProductInput
    def __init__(self, tenant_id: _Optional[str] = ..., product: _Optional[_Union[ProductInput, _Mapping]] = ...) -> None: ...

class CreateProductResponse(_message.Message):
    __slots__ = ("product",)
    PRODUCT_FIELD_NUMBER: _ClassVar[int]
    product: Product
    def __init__(self, product: _Optional[_Union[Product, _Mapping]] = ...) -> None: ...

class GetProductRequest(_message.Message):
    __slots__ = ("tenant_id", "product_id")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_ID_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    product_id: str
    def __init__(self, tenant_id: _Optional[str] = ..., product_id: _Optional[str] = ...) -> None: ...

class GetProductResponse(_message.Message):
    __slots__ = ("product",)
    PRODUCT_FIELD_NUMBER: _ClassVar[int]
    product: Product
    def __init__(self, product: _Optional[_Union[Product, _Mapping]] = ...) -> None: ...

class ListProductsRequest(_message.Message):
    __slots__ = ("tenant_id", "page_size", "page_token", "statuses")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    STATUSES_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    page_size: int
    page_token: str
    statuses: _containers.RepeatedScalarFieldContainer[ProductStatus]
    def __init__(self, tenant_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., statuses: _Optional[_Iterable[_Union[ProductStatus, str]]] = ...) -> None: ...

class ListProductsResponse(_message.Message):
    __slots__ = ("products", "next_page_token", "total")
    PRODUCTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    products: _containers.RepeatedCompositeFieldContainer[Product]
    next_page_token: str
    total: int
    def __init__(self, products: _Optional[_Iterable[_Union[Product, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., total: _Optional[int] = ...) -> None: ...

class UpdateProductRequest(_message.Message):
    __slots__ = ("tenant_id", "product_id", "product", "fields")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_ID_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_FIELD_NUMBER: _ClassVar[int]
    FIELDS_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    product_id: str
    product: ProductInput
    fields: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, tenant_id: _Optional[str] = ..., product_id: _Optional[str] = ..., product: _Optional[_Union[ProductInput, _Mapping]] = ..., fields: _Optional[_Iterable[str]] = ...) -> None: ...

class UpdateProductResponse(_message.Message):
    __slots__ = ("product",)
    PRODUCT_FIELD_NUMBER: _ClassVar[int]
    product: Product
    def __init__(self, product: _Optional[_Union[Product, _Mapping]] = ...) -> None: ...

class DeleteProductRequest(_message.Message):
    __slots__ = ("tenant_id", "product_id")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_ID_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    product_id: str
    def __init__(self, tenant_id: _Optional[str] = ..., product_id: _Optional[str] = ...) -> None: ...

class DeleteProductResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ImportProductsRequest(_message.Message):
    __slots__ = ("tenant_id", "content", "partial")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    PARTIAL_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    content: bytes
    partial: bool
    def __init__(self, tenant_id: _Optional[str] = ..., content: _Optional[bytes] = ..., partial: _Optional[bool] = ...) -> None: ...

class ImportRow(_message.Message):
    __slots__ = ("line", "code", "outcome", "reason")
    LINE_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    line: int
    code: str
    outcome: ImportOutcome
    reason: str
    def __init__(self, line: _Optional[int] = ..., code: _Optional[str] = ..., outcome: _Optional[_Union[ImportOutcome, str]] = ..., reason: _Optional[str] = ...) -> None: ...

class ImportProductsResponse(_message.Message):
    __slots__ = ("applied", "created", "updated", "rejected", "rows", "delimiter", "encoding")
    APPLIED_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    UPDATED_FIELD_NUMBER: _ClassVar[int]
    REJECTED_FIELD_NUMBER: _ClassVar[int]
    ROWS_FIELD_NUMBER: _ClassVar[int]
    DELIMITER_FIELD_NUMBER: _ClassVar[int]
    ENCODING_FIELD_NUMBER: _ClassVar[int]
    applied: bool
    created: int
    updated: int
    rejected: int
    rows: _containers.RepeatedCompositeFieldContainer[ImportRow]
    delimiter: str
    encoding: str
    def __init__(self, applied: _Optional[bool] = ..., created: _Optional[int] = ..., updated: _Optional[int] = ..., rejected: _Optional[int] = ..., rows: _Optional[_Iterable[_Union[ImportRow, _Mapping]]] = ..., delimiter: _Optional[str] = ..., encoding: _Optional[str] = ...) -> None: ...

class SearchProductsRequest(_message.Message):
    __slots__ = ("tenant_id", "text", "purpose", "type", "city", "neighbourhood", "min_bedrooms", "min_price_cents", "max_price_cents", "min_parking_spots", "statuses", "page_size", "page_token")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    CITY_FIELD_NUMBER: _ClassVar[int]
    NEIGHBOURHOOD_FIELD_NUMBER: _ClassVar[int]
    MIN_BEDROOMS_FIELD_NUMBER: _ClassVar[int]
    MIN_PRICE_CENTS_FIELD_NUMBER: _ClassVar[int]
    MAX_PRICE_CENTS_FIELD_NUMBER: _ClassVar[int]
    MIN_PARKING_SPOTS_FIELD_NUMBER: _ClassVar[int]
    STATUSES_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    text: str
    purpose: ProductPurpose
    type: str
    city: str
    neighbourhood: str
    min_bedrooms: int
    min_price_cents: int
    max_price_cents: int
    min_parking_spots: int
    statuses: _containers.RepeatedScalarFieldContainer[ProductStatus]
    page_size: int
    page_token: str
    def __init__(self, tenant_id: _Optional[str] = ..., text: _Optional[str] = ..., purpose: _Optional[_Union[ProductPurpose, str]] = ..., type: _Optional[str] = ..., city: _Optional[str] = ..., neighbourhood: _Optional[str] = ..., min_bedrooms: _Optional[int] = ..., min_price_cents: _Optional[int] = ..., max_price_cents: _Optional[int] = ..., min_parking_spots: _Optional[int] = ..., statuses: _Optional[_Iterable[_Union[ProductStatus, str]]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ProductHit(_message.Message):
    __slots__ = ("product", "score")
    PRODUCT_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    product: Product
    score: float
    def __init__(self, product: _Optional[_Union[Product, _Mapping]] = ..., score: _Optional[float] = ...) -> None: ...

class SearchProductsResponse(_message.Message):
    __slots__ = ("hits", "next_page_token", "total")
    HITS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    hits: _containers.RepeatedCompositeFieldContainer[ProductHit]
    next_page_token: str
    total: int
    def __init__(self, hits: _Optional[_Iterable[_Union[ProductHit, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., total: _Optional[int] = ...) -> None: ...

class MatchProductsRequest(_message.Message):
    __slots__ = ("tenant_id", "text", "limit")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    text: str
    limit: int
    def __init__(self, tenant_id: _Optional[str] = ..., text: _Optional[str] = ..., limit: _Optional[int] = ...) -> None: ...

class ProductMatch(_message.Message):
    __slots__ = ("product", "matched_by")
    PRODUCT_FIELD_NUMBER: _ClassVar[int]
    MATCHED_BY_FIELD_NUMBER: _ClassVar[int]
    product: Product
    matched_by: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, product: _Optional[_Union[Product, _Mapping]] = ..., matched_by: _Optional[_Iterable[str]] = ...) -> None: ...

class MatchProductsResponse(_message.Message):
    __slots__ = ("matches",)
    MATCHES_FIELD_NUMBER: _ClassVar[int]
    matches: _containers.RepeatedCompositeFieldContainer[ProductMatch]
    def __init__(self, matches: _Optional[_Iterable[_Union[ProductMatch, _Mapping]]] = ...) -> None: ...

class ListAssignableSellersRequest(_message.Message):
    __slots__ = ("tenant_id",)
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    def __init__(self, tenant_id: _Optional[str] = ...) -> None: ...

class AssignableSeller(_message.Message):
    __slots__ = ("id", "name", "phone")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    PHONE_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    phone: str
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., phone: _Optional[str] = ...) -> None: ...

class ListAssignableSellersResponse(_message.Message):
    __slots__ = ("sellers",)
    SELLERS_FIELD_NUMBER: _ClassVar[int]
    sellers: _containers.RepeatedCompositeFieldContainer[AssignableSeller]
    def __init__(self, sellers: _Optional[_Iterable[_Union[AssignableSeller, _Mapping]]] = ...) -> None: ...

class ListCatalogPlacesRequest(_message.Message):
    __slots__ = ("tenant_id",)
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    def __init__(self, tenant_id: _Optional[str] = ...) -> None: ...

class ListCatalogPlacesResponse(_message.Message):
    __slots__ = ("neighbourhoods", "cities")
    NEIGHBOURHOODS_FIELD_NUMBER: _ClassVar[int]
    CITIES_FIELD_NUMBER: _ClassVar[int]
    neighbourhoods: _containers.RepeatedScalarFieldContainer[str]
    cities: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, neighbourhoods: _Optional[_Iterable[str]] = ..., cities: _Optional[_Iterable[str]] = ...) -> None: ...

class ListTriggerTermsRequest(_message.Message):
    __slots__ = ("tenant_id",)
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    def __init__(self, tenant_id: _Optional[str] = ...) -> None: ...

class ListTriggerTermsResponse(_message.Message):
    __slots__ = ("code_keys", "keywords", "complete")
    CODE_KEYS_FIELD_NUMBER: _ClassVar[int]
    KEYWORDS_FIELD_NUMBER: _ClassVar[int]
    COMPLETE_FIELD_NUMBER: _ClassVar[int]
    code_keys: _containers.RepeatedScalarFieldContainer[str]
    keywords: _containers.RepeatedScalarFieldContainer[str]
    complete: bool
    def __init__(self, code_keys: _Optional[_Iterable[str]] = ..., keywords: _Optional[_Iterable[str]] = ..., complete: _Optional[bool] = ...) -> None: ...
