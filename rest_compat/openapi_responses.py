"""The success bodies of every REST route, as JSON Schema for the OpenAPI document.

The routes build their answers from GraphQL results with the shape functions of
each dialect (`rest_compat.shapes`, the route modules); FastAPI sees only
`dict[str, Any]`. These schemas say what those functions return: every key they
always write is required, a value GraphQL may give as null is nullable, and more
keys may follow (objects stay open, as JSON clients read them). Documentation only:
the routes' answers are not filtered through them. schemathesis checks every answer
against them (tests/hardening/test_schemathesis.py), so they cannot drift unseen.

`SUCCESS[("METHOD", "/path")]` is `(status, media type, schema)`.
"""

from __future__ import annotations

from typing import Any

Schema = dict[str, Any]

ANY: Schema = {}
STRING: Schema = {"type": "string"}
INTEGER: Schema = {"type": "integer"}
NUMBER: Schema = {"type": "number"}
BOOLEAN: Schema = {"type": "boolean"}
OBJECT: Schema = {"type": "object"}
STRINGS: Schema = {"type": "array", "items": STRING}


def maybe(schema: Schema) -> Schema:
    """`schema` or null."""
    kind = schema.get("type")
    if isinstance(kind, str):
        return {**schema, "type": [kind, "null"]}
    return {"anyOf": [schema, {"type": "null"}]}


def obj(about: str, /, **properties: Schema) -> Schema:
    """An object with these keys, all of them always present."""
    return {
        "type": "object",
        "description": about,
        "required": sorted(properties),
        "properties": properties,
    }


def array(items: Schema) -> Schema:
    return {"type": "array", "items": items}


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


# -- seed 000 (`/api/v1`): snake_case, times as `2024-01-01T00:00:00` ---------------------

V1_GRAPH = {"nodes": array(OBJECT), "edges": array(OBJECT)}
SCHEMAS: dict[str, Schema] = {
    "V1User": obj(
        "An account.", id=STRING, username=STRING, email=STRING, role=STRING, created_at=STRING
    ),
    "V1Me": obj("The caller.", id=STRING, username=STRING, email=STRING, role=STRING),
    "V1Workflow": obj(
        "A workflow (seed 000).",
        id=STRING,
        name=STRING,
        description=STRING,
        type=STRING,
        version=INTEGER,
        status=STRING,
        is_published=BOOLEAN,
        created_at=STRING,
        updated_at=STRING,
        **V1_GRAPH,
    ),
    "V1Version": obj(
        "A saved version of a workflow.",
        workflow_id=STRING,
        version=INTEGER,
        name=STRING,
        description=STRING,
        comment=STRING,
        created_at=STRING,
        **V1_GRAPH,
    ),
    "V1Template": obj(
        "A workflow template.",
        id=STRING,
        name=STRING,
        description=STRING,
        category=STRING,
        icon=STRING,
        tags=STRINGS,
        builtin=BOOLEAN,
        created_at=STRING,
        **V1_GRAPH,
    ),
    "V1Started": obj(
        "A run that was just started (pending).",
        id=STRING,
        workflow_id=maybe(STRING),
        status=STRING,
        task_id=STRING,
    ),
    "V1Execution": obj(
        "A run.",
        id=STRING,
        workflow_id=maybe(STRING),
        status=STRING,
        input_data=ANY,
        output_data=maybe(OBJECT),
        error=maybe(STRING),
        progress=INTEGER,
        current_node=maybe(STRING),
        task_id=STRING,
        execution_time=maybe(INTEGER),
        usage=ANY,
        created_at=STRING,
        started_at=maybe(STRING),
        finished_at=maybe(STRING),
    ),
    "V1Log": obj(
        "One log line of a run.",
        id=STRING,
        node_id=maybe(STRING),
        node_type=maybe(STRING),
        level=STRING,
        message=STRING,
        timestamp=STRING,
        duration_ms=maybe(INTEGER),
    ),
    "V1DataSource": obj(
        "A data source (its secrets masked).",
        id=STRING,
        name=STRING,
        type=STRING,
        description=STRING,
        config=OBJECT,
        status=STRING,
        created_at=STRING,
        updated_at=STRING,
    ),
    "V1Message": obj("A confirmation.", message=STRING),
    # -- seed 003 (`/api`, `/ag-ui`): camelCase, times as `2026-12-31T00:00:00.000Z` -------
    "ApiWorkflow": obj(
        "A workflow (seed 003's WorkflowDocument).",
        id=STRING,
        name=STRING,
        description=STRING,
        type=STRING,
        workflowJson=STRING,
        isPublished=BOOLEAN,
        inputModes=STRINGS,
        createdAt=STRING,
        updatedAt=STRING,
    ),
    "ApiTemplate": obj(
        "A workflow template.",
        id=STRING,
        name=STRING,
        description=STRING,
        category=STRING,
        icon=STRING,
        tags=STRINGS,
        workflowJson=STRING,
        createdAt=STRING,
        updatedAt=STRING,
    ),
    "ApiSuccess": obj("Done.", success=BOOLEAN),
    "ApiCredential": obj(
        "A stored provider credential (the key itself is never returned).",
        id=STRING,
        provider=STRING,
        name=STRING,
        hasApiKey=BOOLEAN,
        endpoint=STRING,
        model=STRING,
        createdAt=STRING,
        updatedAt=STRING,
    ),
    "ApiRuntimeKey": obj(
        "A credential with its key, for the caller's own runs.",
        id=STRING,
        provider=STRING,
        name=STRING,
        apiKey=maybe(STRING),
        endpoint=STRING,
        model=STRING,
    ),
    "ApiKey": obj(
        "An API key (its secret is shown once, at creation).",
        id=STRING,
        name=STRING,
        keyPrefix=STRING,
        scopedWorkflowIds=STRING,
        expiresAt=maybe(STRING),
        createdAt=STRING,
    ),
    "ApiUpload": obj("A temporary upload.", fileId=STRING, fileName=STRING, size=INTEGER),
    "ApiKnowledgeBase": obj(
        "A knowledge base.",
        id=STRING,
        name=STRING,
        description=STRING,
        embeddingModel=STRING,
        chunkSize=INTEGER,
        chunkOverlap=INTEGER,
        createdAt=STRING,
        updatedAt=STRING,
    ),
    "ApiKnowledgeFile": obj(
        "A file of a knowledge base and its ingest.",
        id=STRING,
        knowledgeBaseId=STRING,
        fileName=STRING,
        contentType=STRING,
        size=INTEGER,
        status=STRING,
        error=maybe(STRING),
        chunkCount=INTEGER,
        characterCount=INTEGER,
        timings=OBJECT,
        createdAt=STRING,
        updatedAt=STRING,
        startedAt=maybe(STRING),
        finishedAt=maybe(STRING),
    ),
    "ApiTool": obj(
        "A built-in tool.",
        id=STRING,
        name=STRING,
        description=STRING,
        category=STRING,
        icon=STRING,
    ),
    "ApiSkill": obj(
        "A skill.",
        id=STRING,
        name=STRING,
        description=STRING,
        instructions=STRING,
        category=STRING,
        icon=STRING,
        tools=STRINGS,
        isBuiltin=BOOLEAN,
    ),
    "ApiTrace": obj("A run's trace.", runId=STRING, path=STRING, entries=STRINGS),
}

V1_WORKFLOW = ref("V1Workflow")
V1_EXECUTION = ref("V1Execution")
V1_DATA_SOURCE = ref("V1DataSource")
API_WORKFLOW = ref("ApiWorkflow")
API_TEMPLATE = ref("ApiTemplate")
SUCCESS_BODY = ref("ApiSuccess")
SSE = "text/event-stream"
JSON = "application/json"

_V1_EXPORT = obj("A workflow to import elsewhere.", workflow=OBJECT, exported_at=STRING)
_V1_VALIDATION = obj("Problems found.", valid=BOOLEAN, errors=array(ANY), warnings=array(ANY))
_V1_STATUS = obj("Where a run is.", status=STRING, progress=INTEGER, current_node=maybe(STRING))
_V1_LOGS = obj(
    "A page of a run's log.", logs=array(ref("V1Log")), total=INTEGER, skip=INTEGER,
    limit=INTEGER,
)  # fmt: skip
_V1_SUMMARY = obj(
    "Counts over a run's log.",
    total_logs=INTEGER,
    level_stats=OBJECT,
    node_stats=array(
        obj(
            "One node's lines.",
            node_id=STRING,
            node_type=maybe(STRING),
            log_count=INTEGER,
            total_duration_ms=INTEGER,
        )
    ),
    error_logs=array(ref("V1Log")),
)
_V1_TEST = obj("Whether the source answered.", status=STRING, message=STRING)
_V1_QUERY = obj("Rows.", data=ANY, count=INTEGER, truncated=BOOLEAN)
_V1_TOKEN = obj("An access token.", access_token=STRING, token_type=STRING)
_RETRY = {
    "allOf": [ref("V1Started"), obj("The run it retries.", retry_of=maybe(STRING))],
}
_KEY_CREATED = {"allOf": [ref("ApiKey"), obj("Shown only now.", rawKey=STRING)]}
_SKILLS = obj("Skills.", builtin=array(ref("ApiSkill")), custom=array(ref("ApiSkill")))
_INFO = obj(
    "This server.", name=STRING, protocol=STRING, version=STRING, mode=STRING,
    endpoints=STRINGS,
)  # fmt: skip
_MCP = {
    **obj("Whether the MCP server answered, and its tools.", healthy=BOOLEAN, tools=array(OBJECT)),
    "properties": {"healthy": BOOLEAN, "tools": array(OBJECT), "error": STRING},
}
_A2A = {
    **obj("Whether the A2A agent answered, and its card.", healthy=BOOLEAN, agent=maybe(OBJECT)),
    "properties": {"healthy": BOOLEAN, "agent": maybe(OBJECT), "error": STRING},
}
_A2A_TEST = {
    **obj("The agent's answer.", success=BOOLEAN, response=maybe(STRING)),
    "properties": {"success": BOOLEAN, "response": maybe(STRING), "error": STRING},
}
_HTTP_TEST = {
    **obj("The tool's answer.", success=BOOLEAN, response=STRING, status=maybe(INTEGER)),
    "properties": {
        "success": BOOLEAN,
        "response": STRING,
        "status": maybe(INTEGER),
        "error": STRING,
    },
}
_SCRIPT = obj("A generated script.", code=STRING, testInput=STRING)
_SCRIPT_TEST = obj(
    "A script's run.",
    success=BOOLEAN,
    output=maybe(STRING),
    error=maybe(STRING),
    consoleOutput=STRING,
    elapsedMs=NUMBER,
)
_ANALYTICS = obj(
    "Usage over a window.",
    **{
        "from": STRING,
        "to": STRING,
        "userId": STRING,
        "requests": OBJECT,
        "runs": OBJECT,
        "usage": OBJECT,
        "topWorkflows": array(OBJECT),
        "errorRate": NUMBER,
    },
)
_READY = obj("Readiness.", status=STRING, checks=OBJECT)
_HEALTH = obj("Liveness.", status=STRING)
_SSE_TEXT: Schema = {"type": "string", "description": "Server-sent events (`data: ...` frames)."}

SUCCESS: dict[tuple[str, str], tuple[int, str, Schema]] = {
    # seed 000
    ("POST", "/api/v1/auth/register"): (201, JSON, ref("V1User")),
    ("POST", "/api/v1/auth/login"): (200, JSON, _V1_TOKEN),
    ("GET", "/api/v1/auth/me"): (200, JSON, ref("V1Me")),
    ("GET", "/api/v1/workflows"): (200, JSON, array(V1_WORKFLOW)),
    ("POST", "/api/v1/workflows"): (201, JSON, V1_WORKFLOW),
    ("POST", "/api/v1/workflows/validate"): (200, JSON, _V1_VALIDATION),
    ("GET", "/api/v1/workflows/templates"): (200, JSON, array(ref("V1Template"))),
    ("POST", "/api/v1/workflows/templates/{template_id}/create"): (201, JSON, V1_WORKFLOW),
    ("POST", "/api/v1/workflows/import"): (201, JSON, V1_WORKFLOW),
    ("GET", "/api/v1/workflows/{workflow_id}"): (200, JSON, V1_WORKFLOW),
    ("PUT", "/api/v1/workflows/{workflow_id}"): (200, JSON, V1_WORKFLOW),
    ("DELETE", "/api/v1/workflows/{workflow_id}"): (200, JSON, ref("V1Message")),
    ("GET", "/api/v1/workflows/{workflow_id}/export"): (200, JSON, _V1_EXPORT),
    ("GET", "/api/v1/workflows/{workflow_id}/versions"): (200, JSON, array(ref("V1Version"))),
    ("GET", "/api/v1/workflows/{workflow_id}/versions/{version}"): (200, JSON, ref("V1Version")),
    ("POST", "/api/v1/workflows/{workflow_id}/versions/{version}/rollback"): (
        200,
        JSON,
        V1_WORKFLOW,
    ),
    ("POST", "/api/v1/workflows/{workflow_id}/execute"): (201, JSON, ref("V1Started")),
    ("POST", "/api/v1/executions"): (201, JSON, ref("V1Started")),
    ("GET", "/api/v1/executions"): (200, JSON, array(V1_EXECUTION)),
    ("GET", "/api/v1/executions/{execution_id}"): (200, JSON, V1_EXECUTION),
    ("GET", "/api/v1/executions/{execution_id}/status"): (200, JSON, _V1_STATUS),
    ("POST", "/api/v1/executions/{execution_id}/cancel"): (200, JSON, V1_EXECUTION),
    ("POST", "/api/v1/executions/{execution_id}/retry"): (201, JSON, _RETRY),
    ("GET", "/api/v1/execution-logs/executions/{execution_id}"): (200, JSON, _V1_LOGS),
    ("GET", "/api/v1/execution-logs/executions/{execution_id}/summary"): (200, JSON, _V1_SUMMARY),
    ("GET", "/api/v1/data-sources"): (200, JSON, array(V1_DATA_SOURCE)),
    ("POST", "/api/v1/data-sources"): (201, JSON, V1_DATA_SOURCE),
    ("GET", "/api/v1/data-sources/{data_source_id}"): (200, JSON, V1_DATA_SOURCE),
    ("PUT", "/api/v1/data-sources/{data_source_id}"): (200, JSON, V1_DATA_SOURCE),
    ("DELETE", "/api/v1/data-sources/{data_source_id}"): (200, JSON, ref("V1Message")),
    ("POST", "/api/v1/data-sources/{data_source_id}/test"): (200, JSON, _V1_TEST),
    ("POST", "/api/v1/data-sources/{data_source_id}/query"): (200, JSON, _V1_QUERY),
    # seed 003
    ("GET", "/api/workflows"): (200, JSON, array(API_WORKFLOW)),
    ("POST", "/api/workflows"): (201, JSON, API_WORKFLOW),
    ("GET", "/api/workflows/{workflow_id}"): (200, JSON, API_WORKFLOW),
    ("PUT", "/api/workflows/{workflow_id}"): (200, JSON, API_WORKFLOW),
    ("DELETE", "/api/workflows/{workflow_id}"): (200, JSON, SUCCESS_BODY),
    ("PATCH", "/api/workflows/{workflow_id}/publish"): (200, JSON, API_WORKFLOW),
    ("GET", "/api/templates"): (200, JSON, array(API_TEMPLATE)),
    ("POST", "/api/templates"): (201, JSON, API_TEMPLATE),
    ("PUT", "/api/templates/{template_id}"): (200, JSON, API_TEMPLATE),
    ("DELETE", "/api/templates/{template_id}"): (200, JSON, SUCCESS_BODY),
    ("GET", "/api/credentials"): (200, JSON, array(ref("ApiCredential"))),
    ("POST", "/api/credentials"): (201, JSON, ref("ApiCredential")),
    ("GET", "/api/credentials/runtime-keys"): (200, JSON, array(ref("ApiRuntimeKey"))),
    ("PUT", "/api/credentials/{credential_id}"): (200, JSON, ref("ApiCredential")),
    ("DELETE", "/api/credentials/{credential_id}"): (200, JSON, SUCCESS_BODY),
    ("GET", "/api/keys"): (200, JSON, array(ref("ApiKey"))),
    ("POST", "/api/keys"): (201, JSON, _KEY_CREATED),
    ("DELETE", "/api/keys/{key_id}"): (200, JSON, SUCCESS_BODY),
    ("POST", "/api/upload"): (200, JSON, ref("ApiUpload")),
    ("GET", "/api/knowledge-bases"): (200, JSON, array(ref("ApiKnowledgeBase"))),
    ("POST", "/api/knowledge-bases"): (201, JSON, ref("ApiKnowledgeBase")),
    ("GET", "/api/knowledge-bases/{kb_id}"): (200, JSON, ref("ApiKnowledgeBase")),
    ("PUT", "/api/knowledge-bases/{kb_id}"): (200, JSON, ref("ApiKnowledgeBase")),
    ("DELETE", "/api/knowledge-bases/{kb_id}"): (200, JSON, SUCCESS_BODY),
    ("GET", "/api/knowledge-bases/{kb_id}/files"): (200, JSON, array(ref("ApiKnowledgeFile"))),
    ("POST", "/api/knowledge-bases/{kb_id}/files"): (200, SSE, _SSE_TEXT),
    ("DELETE", "/api/knowledge-bases/{kb_id}/files/{file_id}"): (200, JSON, SUCCESS_BODY),
    ("POST", "/ag-ui"): (200, SSE, _SSE_TEXT),
    ("POST", "/ag-ui/goal"): (200, SSE, _SSE_TEXT),
    ("POST", "/ag-ui/human-input"): (200, JSON, SUCCESS_BODY),
    ("GET", "/api/tools"): (200, JSON, array(ref("ApiTool"))),
    ("GET", "/api/skills"): (200, JSON, _SKILLS),
    ("POST", "/api/skills"): (201, JSON, ref("ApiSkill")),
    ("PUT", "/api/skills/{skill_id}"): (200, JSON, ref("ApiSkill")),
    ("DELETE", "/api/skills/{skill_id}"): (200, JSON, SUCCESS_BODY),
    ("GET", "/api/traces/latest"): (200, JSON, ref("ApiTrace")),
    ("GET", "/api/traces/{run_id}"): (200, JSON, ref("ApiTrace")),
    ("GET", "/info"): (200, JSON, _INFO),
    ("POST", "/api/mcp/discover"): (200, JSON, _MCP),
    ("POST", "/api/a2a/discover"): (200, JSON, _A2A),
    ("POST", "/api/a2a/test"): (200, JSON, _A2A_TEST),
    ("POST", "/api/http-tools/test"): (200, JSON, _HTTP_TEST),
    ("POST", "/api/script-generator"): (200, JSON, _SCRIPT),
    ("POST", "/api/script-test"): (200, JSON, _SCRIPT_TEST),
    ("POST", "/api/flow-builder"): (200, SSE, _SSE_TEXT),
    # operations
    ("GET", "/healthz"): (200, JSON, _HEALTH),
    ("GET", "/readyz"): (200, JSON, _READY),
    ("GET", "/metrics"): (200, "text/plain", {"type": "string"}),
    ("GET", "/api/analytics/summary"): (200, JSON, _ANALYTICS),
    ("GET", "/api/analytics/logs"): (200, JSON, array(OBJECT)),
}

OTHER_ANSWERS: dict[tuple[str, str], dict[int, tuple[str, Schema]]] = {
    # Not ready: the same document, saying which check failed.
    ("GET", "/readyz"): {503: (JSON, _READY)},
    # Seed 003's own body for a question nobody is waiting on.
    ("POST", "/ag-ui/human-input"): {
        404: (JSON, obj("No pending question for this thread/run.", error=STRING))
    },
}
"""Answers besides the success and the dialect's errors."""
