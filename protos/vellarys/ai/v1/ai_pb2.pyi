import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
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
    OUTCOME_ERROR: _ClassVar[Outcome]
    OUTCOME_BREAKER_OPEN: _ClassVar[Outcome]
    OUTCOME_OFFLINE: _ClassVar[Outcome]
ROLE_UNSPECIFIED: Role
ROLE_LEAD: Role
ROLE_ASSISTANT: Role
ROLE_SELLER: Role
OUTCOME_UNSPECIFIED: Outcome
OUTCOME_OK: Outcome
OUTCOME_FALLBACK: Outcome
OUTCOME_ERROR: Outcome
OUTCOME_BREAKER_OPEN: Outcome
OUTCOME_OFFLINE: Outcome

class HistoryMessage(_message.Message):
    __slots__ = ("role", "text", "sent_at", "media_type")
    ROLE_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    SENT_AT_FIELD_NUMBER: _ClassVar[int]
    MEDIA_TYPE_FIELD_NUMBER: _ClassVar[int]
    role: Role
    text: str
    sent_at: _timestamp_pb2.Timestamp
    media_type: str
    def __init__(self, role: _Optional[_Union[Role, str]] = ..., text: _Optional[str] = ..., sent_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., media_type: _Optional[str] = ...) -> None: ...

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
    __slots__ = ("tenant_id", "lead_id", "lead_name", "history", "profile", "window_expires_at", "job_id", "attempt")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    LEAD_ID_FIELD_NUMBER: _ClassVar[int]
    LEAD_NAME_FIELD_NUMBER: _ClassVar[int]
    HISTORY_FIELD_NUMBER: _ClassVar[int]
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    WINDOW_EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    lead_id: str
    lead_name: str
    history: _containers.RepeatedCompositeFieldContainer[HistoryMessage]
    profile: _containers.RepeatedCompositeFieldContainer[QualificationField]
    window_expires_at: _timestamp_pb2.Timestamp
    job_id: str
    attempt: int
    def __init__(self, tenant_id: _Optional[str] = ..., lead_id: _Optional[str] = ..., lead_name: _Optional[str] = ..., history: _Optional[_Iterable[_Union[HistoryMessage, _Mapping]]] = ..., profile: _Optional[_Iterable[_Union[QualificationField, _Mapping]]] = ..., window_expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., job_id: _Optional[str] = ..., attempt: _Optional[int] = ...) -> None: ...

class ToolCall(_message.Message):
    __slots__ = ("name", "arguments_json", "result_summary")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ARGUMENTS_JSON_FIELD_NUMBER: _ClassVar[int]
    RESULT_SUMMARY_FIELD_NUMBER: _ClassVar[int]
    name: str
    arguments_json: str
    result_summary: str
    def __init__(self, name: _Optional[str] = ..., arguments_json: _Optional[str] = ..., result_summary: _Optional[str] = ...) -> None: ...

class GenerateReplyResponse(_message.Message):
    __slots__ = ("text", "profile", "score", "score_reasons", "handoff", "handoff_reason", "outcome", "model", "tool_calls", "prompt_tokens", "completion_tokens", "latency_ms", "retry_later", "opt_out", "opt_in")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    SCORE_REASONS_FIELD_NUMBER: _ClassVar[int]
    HANDOFF_FIELD_NUMBER: _ClassVar[int]
    HANDOFF_REASON_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    TOOL_CALLS_FIELD_NUMBER: _ClassVar[int]
    PROMPT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    COMPLETION_TOKENS_FIELD_NUMBER: _ClassVar[int]
    LATENCY_MS_FIELD_NUMBER: _ClassVar[int]
    RETRY_LATER_FIELD_NUMBER: _ClassVar[int]
    OPT_OUT_FIELD_NUMBER: _ClassVar[int]
    OPT_IN_FIELD_NUMBER: _ClassVar[int]
    text: str
    profile: _containers.RepeatedCompositeFieldContainer[QualificationField]
    score: int
    score_reasons: _containers.RepeatedScalarFieldContainer[str]
    handoff: bool
    handoff_reason: str
    outcome: Outcome
    model: str
    tool_calls: _containers.RepeatedCompositeFieldContainer[ToolCall]
    prompt_tokens: int
    completion_tokens: int
    latency_ms: int
    retry_later: bool
    opt_out: bool
    opt_in: bool
    def __init__(self, text: _Optional[str] = ..., profile: _Optional[_Iterable[_Union[QualificationField, _Mapping]]] = ..., score: _Optional[int] = ..., score_reasons: _Optional[_Iterable[str]] = ..., handoff: _Optional[bool] = ..., handoff_reason: _Optional[str] = ..., outcome: _Optional[_Union[Outcome, str]] = ..., model: _Optional[str] = ..., tool_calls: _Optional[_Iterable[_Union[ToolCall, _Mapping]]] = ..., prompt_tokens: _Optional[int] = ..., completion_tokens: _Optional[int] = ..., latency_ms: _Optional[int] = ..., retry_later: _Optional[bool] = ..., opt_out: _Optional[bool] = ..., opt_in: _Optional[bool] = ...) -> None: ...

class GetUsageRequest(_message.Message):
    __slots__ = ("tenant_id", "from_day", "to_day", "time_zone")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    FROM_DAY_FIELD_NUMBER: _ClassVar[int]
    TO_DAY_FIELD_NUMBER: _ClassVar[int]
    TIME_ZONE_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    from_day: str
    to_day: str
    time_zone: str
    def __init__(self, tenant_id: _Optional[str] = ..., from_day: _Optional[str] = ..., to_day: _Optional[str] = ..., time_zone: _Optional[str] = ...) -> None: ...

class UsageDay(_message.Message):
    __slots__ = ("day", "calls", "prompt_tokens", "completion_tokens", "cost_usd", "unpriced_calls", "outcomes", "simulated_calls", "simulated_cost_usd")
    class OutcomesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    DAY_FIELD_NUMBER: _ClassVar[int]
    CALLS_FIELD_NUMBER: _ClassVar[int]
    PROMPT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    COMPLETION_TOKENS_FIELD_NUMBER: _ClassVar[int]
    COST_USD_FIELD_NUMBER: _ClassVar[int]
    UNPRICED_CALLS_FIELD_NUMBER: _ClassVar[int]
    OUTCOMES_FIELD_NUMBER: _ClassVar[int]
    SIMULATED_CALLS_FIELD_NUMBER: _ClassVar[int]
    SIMULATED_COST_USD_FIELD_NUMBER: _ClassVar[int]
    day: str
    calls: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    unpriced_calls: int
    outcomes: _containers.ScalarMap[str, int]
    simulated_calls: int
    simulated_cost_usd: float
    def __init__(self, day: _Optional[str] = ..., calls: _Optional[int] = ..., prompt_tokens: _Optional[int] = ..., completion_tokens: _Optional[int] = ..., cost_usd: _Optional[float] = ..., unpriced_calls: _Optional[int] = ..., outcomes: _Optional[_Mapping[str, int]] = ..., simulated_calls: _Optional[int] = ..., simulated_cost_usd: _Optional[float] = ...) -> None: ...

class GetUsageResponse(_message.Message):
    __slots__ = ("days",)
    DAYS_FIELD_NUMBER: _ClassVar[int]
    days: _containers.RepeatedCompositeFieldContainer[UsageDay]
    def __init__(self, days: _Optional[_Iterable[_Union[UsageDay, _Mapping]]] = ...) -> None: ...

class SimulateRequest(_message.Message):
    __slots__ = ("tenant_id", "lead_name", "history", "profile")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    LEAD_NAME_FIELD_NUMBER: _ClassVar[int]
    HISTORY_FIELD_NUMBER: _ClassVar[int]
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    lead_name: str
    history: _containers.RepeatedCompositeFieldContainer[HistoryMessage]
    profile: _containers.RepeatedCompositeFieldContainer[QualificationField]
    def __init__(self, tenant_id: _Optional[str] = ..., lead_name: _Optional[str] = ..., history: _Optional[_Iterable[_Union[HistoryMessage, _Mapping]]] = ..., profile: _Optional[_Iterable[_Union[QualificationField, _Mapping]]] = ...) -> None: ...

class SimulateResponse(_message.Message):
    __slots__ = ("reply",)
    REPLY_FIELD_NUMBER: _ClassVar[int]
    reply: GenerateReplyResponse
    def __init__(self, reply: _Optional[_Union[GenerateReplyResponse, _Mapping]] = ...) -> None: ...

class CaseExpectations(_message.Message):
    __slots__ = ("fields", "handoff", "reply_contains", "reply_not_contains", "min_score", "max_score")
    class FieldsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    FIELDS_FIELD_NUMBER: _ClassVar[int]
    HANDOFF_FIELD_NUMBER: _ClassVar[int]
    REPLY_CONTAINS_FIELD_NUMBER: _ClassVar[int]
    REPLY_NOT_CONTAINS_FIELD_NUMBER: _ClassVar[int]
    MIN_SCORE_FIELD_NUMBER: _ClassVar[int]
    MAX_SCORE_FIELD_NUMBER: _ClassVar[int]
    fields: _containers.ScalarMap[str, str]
    handoff: bool
    reply_contains: _containers.RepeatedScalarFieldContainer[str]
    reply_not_contains: _containers.RepeatedScalarFieldContainer[str]
    min_score: int
    max_score: int
    def __init__(self, fields: _Optional[_Mapping[str, str]] = ..., handoff: _Optional[bool] = ..., reply_contains: _Optional[_Iterable[str]] = ..., reply_not_contains: _Optional[_Iterable[str]] = ..., min_score: _Optional[int] = ..., max_score: _Optional[int] = ...) -> None: ...

class SimulatorCaseInput(_message.Message):
    __slots__ = ("name", "lead_name", "messages", "profile", "expectations")
    NAME_FIELD_NUMBER: _ClassVar[int]
    LEAD_NAME_FIELD_NUMBER: _ClassVar[int]
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    EXPECTATIONS_FIELD_NUMBER: _ClassVar[int]
    name: str
    lead_name: str
    messages: _containers.RepeatedCompositeFieldContainer[HistoryMessage]
    profile: _containers.RepeatedCompositeFieldContainer[QualificationField]
    expectations: CaseExpectations
    def __init__(self, name: _Optional[str] = ..., lead_name: _Optional[str] = ..., messages: _Optional[_Iterable[_Union[HistoryMessage, _Mapping]]] = ..., profile: _Optional[_Iterable[_Union[QualificationField, _Mapping]]] = ..., expectations: _Optional[_Union[CaseExpectations, _Mapping]] = ...) -> None: ...

class SimulatorCase(_message.Message):
    __slots__ = ("id", "tenant_id", "name", "lead_name", "messages", "profile", "expectations", "created_by", "created_at", "updated_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    LEAD_NAME_FIELD_NUMBER: _ClassVar[int]
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    EXPECTATIONS_FIELD_NUMBER: _ClassVar[int]
    CREATED_BY_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    tenant_id: str
    name: str
    lead_name: str
    messages: _containers.RepeatedCompositeFieldContainer[HistoryMessage]
    profile: _containers.RepeatedCompositeFieldContainer[QualificationField]
    expectations: CaseExpectations
    created_by: str
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., tenant_id: _Optional[str] = ..., name: _Optional[str] = ..., lead_name: _Optional[str] = ..., messages: _Optional[_Iterable[_Union[HistoryMessage, _Mapping]]] = ..., profile: _Optional[_Iterable[_Union[QualificationField, _Mapping]]] = ..., expectations: _Optional[_Union[CaseExpectations, _Mapping]] = ..., created_by: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CreateSimulatorCaseRequest(_message.Message):
    __slots__ = ("tenant_id", "case")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    CASE_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    case: SimulatorCaseInput
    def __init__(self, tenant_id: _Optional[str] = ..., case: _Optional[_Union[SimulatorCaseInput, _Mapping]] = ...) -> None: ...

class CreateSimulatorCaseResponse(_message.Message):
    __slots__ = ("case",)
    CASE_FIELD_NUMBER: _ClassVar[int]
    case: SimulatorCase
    def __init__(self, case: _Optional[_Union[SimulatorCase, _Mapping]] = ...) -> None: ...

class GetSimulatorCaseRequest(_message.Message):
    __slots__ = ("tenant_id", "case_id")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    CASE_ID_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    case_id: str
    def __init__(self, tenant_id: _Optional[str] = ..., case_id: _Optional[str] = ...) -> None: ...

class GetSimulatorCaseResponse(_message.Message):
    __slots__ = ("case",)
    CASE_FIELD_NUMBER: _ClassVar[int]
    case: SimulatorCase
    def __init__(self, case: _Optional[_Union[SimulatorCase, _Mapping]] = ...) -> None: ...

class ListSimulatorCasesRequest(_message.Message):
    __slots__ = ("tenant_id",)
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    def __init__(self, tenant_id: _Optional[str] = ...) -> None: ...

class ListSimulatorCasesResponse(_message.Message):
    __slots__ = ("cases",)
    CASES_FIELD_NUMBER: _ClassVar[int]
    cases: _containers.RepeatedCompositeFieldContainer[SimulatorCase]
    def __init__(self, cases: _Optional[_Iterable[_Union[SimulatorCase, _Mapping]]] = ...) -> None: ...

class UpdateSimulatorCaseRequest(_message.Message):
    __slots__ = ("tenant_id", "case_id", "case")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    CASE_ID_FIELD_NUMBER: _ClassVar[int]
    CASE_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    case_id: str
    case: SimulatorCaseInput
    def __init__(self, tenant_id: _Optional[str] = ..., case_id: _Optional[str] = ..., case: _Optional[_Union[SimulatorCaseInput, _Mapping]] = ...) -> None: ...

class UpdateSimulatorCaseResponse(_message.Message):
    __slots__ = ("case",)
    CASE_FIELD_NUMBER: _ClassVar[int]
    case: SimulatorCase
    def __init__(self, case: _Optional[_Union[SimulatorCase, _Mapping]] = ...) -> None: ...

class DeleteSimulatorCaseRequest(_message.Message):
    __slots__ = ("tenant_id", "case_id")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    CASE_ID_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    case_id: str
    def __init__(self, tenant_id: _Optional[str] = ..., case_id: _Optional[str] = ...) -> None: ...

class DeleteSimulatorCaseResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ExpectationCheck(_message.Message):
    __slots__ = ("expectation", "expected", "actual", "passed")
    EXPECTATION_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_FIELD_NUMBER: _ClassVar[int]
    ACTUAL_FIELD_NUMBER: _ClassVar[int]
    PASSED_FIELD_NUMBER: _ClassVar[int]
    expectation: str
    expected: str
    actual: str
    passed: bool
    def __init__(self, expectation: _Optional[str] = ..., expected: _Optional[str] = ..., actual: _Optional[str] = ..., passed: _Optional[bool] = ...) -> None: ...

class CaseResult(_message.Message):
    __slots__ = ("case_id", "name", "passed", "checks", "reply_text", "score", "handoff", "outcome", "profile")
    CASE_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    PASSED_FIELD_NUMBER: _ClassVar[int]
    CHECKS_FIELD_NUMBER: _ClassVar[int]
    REPLY_TEXT_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    HANDOFF_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    case_id: str
    name: str
    passed: bool
    checks: _containers.RepeatedCompositeFieldContainer[ExpectationCheck]
    reply_text: str
    score: int
    handoff: bool
    outcome: Outcome
    profile: _containers.RepeatedCompositeFieldContainer[QualificationField]
    def __init__(self, case_id: _Optional[str] = ..., name: _Optional[str] = ..., passed: _Optional[bool] = ..., checks: _Optional[_Iterable[_Union[ExpectationCheck, _Mapping]]] = ..., reply_text: _Optional[str] = ..., score: _Optional[int] = ..., handoff: _Optional[bool] = ..., outcome: _Optional[_Union[Outcome, str]] = ..., profile: _Optional[_Iterable[_Union[QualificationField, _Mapping]]] = ...) -> None: ...

class SimulatorRun(_message.Message):
    __slots__ = ("id", "tenant_id", "settings_version", "created_by", "started_at", "finished_at", "passed", "failed", "results")
    ID_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    SETTINGS_VERSION_FIELD_NUMBER: _ClassVar[int]
    CREATED_BY_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_FIELD_NUMBER: _ClassVar[int]
    FINISHED_AT_FIELD_NUMBER: _ClassVar[int]
    PASSED_FIELD_NUMBER: _ClassVar[int]
    FAILED_FIELD_NUMBER: _ClassVar[int]
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    id: str
    tenant_id: str
    settings_version: int
    created_by: str
    started_at: _timestamp_pb2.Timestamp
    finished_at: _timestamp_pb2.Timestamp
    passed: int
    failed: int
    results: _containers.RepeatedCompositeFieldContainer[CaseResult]
    def __init__(self, id: _Optional[str] = ..., tenant_id: _Optional[str] = ..., settings_version: _Optional[int] = ..., created_by: _Optional[str] = ..., started_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., finished_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., passed: _Optional[int] = ..., failed: _Optional[int] = ..., results: _Optional[_Iterable[_Union[CaseResult, _Mapping]]] = ...) -> None: ...

class RunSimulatorCasesRequest(_message.Message):
    __slots__ = ("tenant_id", "case_ids")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    CASE_IDS_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    case_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, tenant_id: _Optional[str] = ..., case_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class RunSimulatorCasesResponse(_message.Message):
    __slots__ = ("run",)
    RUN_FIELD_NUMBER: _ClassVar[int]
    run: SimulatorRun
    def __init__(self, run: _Optional[_Union[SimulatorRun, _Mapping]] = ...) -> None: ...

class ListSimulatorRunsRequest(_message.Message):
    __slots__ = ("tenant_id", "page_size")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    page_size: int
    def __init__(self, tenant_id: _Optional[str] = ..., page_size: _Optional[int] = ...) -> None: ...

class ListSimulatorRunsResponse(_message.Message):
    __slots__ = ("runs",)
    RUNS_FIELD_NUMBER: _ClassVar[int]
    runs: _containers.RepeatedCompositeFieldContainer[SimulatorRun]
    def __init__(self, runs: _Optional[_Iterable[_Union[SimulatorRun, _Mapping]]] = ...) -> None: ...

class ListJobCallsRequest(_message.Message):
    __slots__ = ("tenant_id", "job_id")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    job_id: str
    def __init__(self, tenant_id: _Optional[str] = ..., job_id: _Optional[str] = ...) -> None: ...

class JobCall(_message.Message):
    __slots__ = ("id", "attempt", "model", "outcome", "latency_ms", "created_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    LATENCY_MS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    attempt: int
    model: str
    outcome: Outcome
    latency_ms: int
    created_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., attempt: _Optional[int] = ..., model: _Optional[str] = ..., outcome: _Optional[_Union[Outcome, str]] = ..., latency_ms: _Optional[int] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListJobCallsResponse(_message.Message):
    __slots__ = ("calls",)
    CALLS_FIELD_NUMBER: _ClassVar[int]
    calls: _containers.RepeatedCompositeFieldContainer[JobCall]
    def __init__(self, calls: _Optional[_Iterable[_Union[JobCall, _Mapping]]] = ...) -> None: ...
