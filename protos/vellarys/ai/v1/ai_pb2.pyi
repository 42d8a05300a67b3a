from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Role(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ROLE_UNSPECIFIED: _ClassVar[Role]
    ROLE_LEAD: _ClassVar[Role]
    ROLE_ASSISTANT: _ClassVar[Role]
    ROLE_SELLER: _ClassVar[Role]

class Outcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    OUTCOME_UNSPECIFIED: _ClassVar[Outcome]
    OUTCOME_OK: _ClassVar[Outcome]
    OUTCOME_FALLBACK: _ClassVar[Outcome]
ROLE_UNSPECIFIED: Role
ROLE_LEAD: Role
ROLE_ASSISTANT: Role
ROLE_SELLER: Role
OUTCOME_UNSPECIFIED: Outcome
OUTCOME_OK: Outcome
OUTCOME_FALLBACK: Outcome

class HistoryMessage(_message.Message):
    __slots__ = ("role", "text")
    ROLE_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    role: Role
    text: str
    def __init__(self, role: _Optional[_Union[Role, str]] = ..., text: _Optional[str] = ...) -> None: ...

class QualificationField(_message.Message):
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

class GenerateReplyRequest(_message.Message):
    __slots__ = ("tenant_id", "lead_id", "lead_name", "history", "profile")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    LEAD_ID_FIELD_NUMBER: _ClassVar[int]
    LEAD_NAME_FIELD_NUMBER: _ClassVar[int]
    HISTORY_FIELD_NUMBER: _ClassVar[int]
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    lead_id: str
    lead_name: str
    history: _containers.RepeatedCompositeFieldContainer[HistoryMessage]
    profile: _containers.RepeatedCompositeFieldContainer[QualificationField]
    def __init__(self, tenant_id: _Optional[str] = ..., lead_id: _Optional[str] = ..., lead_name: _Optional[str] = ..., history: _Optional[_Iterable[_Union[HistoryMessage, _Mapping]]] = ..., profile: _Optional[_Iterable[_Union[QualificationField, _Mapping]]] = ...) -> None: ...

class GenerateReplyResponse(_message.Message):
    __slots__ = ("text", "profile", "score", "score_reasons", "handoff", "handoff_reason", "outcome", "model")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    SCORE_REASONS_FIELD_NUMBER: _ClassVar[int]
    HANDOFF_FIELD_NUMBER: _ClassVar[int]
    HANDOFF_REASON_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    text: str
    profile: _containers.RepeatedCompositeFieldContainer[QualificationField]
    score: int
    score_reasons: _containers.RepeatedScalarFieldContainer[str]
    handoff: bool
    handoff_reason: str
    outcome: Outcome
    model: str
    def __init__(self, text: _Optional[str] = ..., profile: _Optional[_Iterable[_Union[QualificationField, _Mapping]]] = ..., score: _Optional[int] = ..., score_reasons: _Optional[_Iterable[str]] = ..., handoff: _Optional[bool] = ..., handoff_reason: _Optional[str] = ..., outcome: _Optional[_Union[Outcome, str]] = ..., model: _Optional[str] = ...) -> None: ...
