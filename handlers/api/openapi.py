"""The OpenAPI 3.1 document of the REST API, served at /api/v1/openapi.json."""

from __future__ import annotations

from typing import Any

from domain.enums import FaultCause, Priority, Role, Source, Status, TicketType, TimerState

_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "details": {},
            },
        }
    },
}


def _enum(enum: Any, nullable: bool = False) -> dict[str, Any]:
    values: list[Any] = [e.value for e in enum]
    if nullable:
        values.append(None)
    return {"enum": values}


def _errors(*codes: int) -> dict[str, Any]:
    return {
        str(c): {
            "description": "error",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
        for c in codes
    }


_TIMER = {
    "type": ["object", "null"],
    "properties": {
        "due_at": {"type": ["string", "null"], "format": "date-time"},
        "state": _enum(TimerState),
    },
}

_TICKET = {
    "type": "object",
    "required": [
        "ref", "status", "priority", "ticket_type", "source", "external_ref", "dr_number",
        "pole_number", "pon_number", "zone", "project", "assignee", "ont_serial",
        "ont_rx_level_dbm", "fault_cause", "guarantee_status", "billing_classification",
        "rectification_count", "is_infrastructure", "verification", "sla", "created_at",
        "updated_at",
    ],
    "properties": {
        "ref": {"type": "string", "pattern": "^FF[0-9]{6,}$"},
        "title": {"type": "string"},
        "status": _enum(Status),
        "priority": _enum(Priority),
        "ticket_type": _enum(TicketType),
        "source": _enum(Source),
        "external_ref": {"type": ["string", "null"]},
        "dr_number": {"type": ["string", "null"]},
        "pole_number": {"type": ["string", "null"]},
        "pon_number": {"type": ["string", "null"]},
        "zone": {"type": ["string", "null"]},
        "project": {"type": ["string", "null"]},
        "assignee": {
            "oneOf": [
                {"type": "null"},
                {
                    "type": "object",
                    "properties": {
                        "id": {"type": "integer"},
                        "name": {"type": "string"},
                        "role": _enum(Role),
                        "phone": {"type": ["string", "null"]},
                        "slack_id": {"type": ["string", "null"]},
                    },
                },
            ]
        },
        "ont_serial": {"type": ["string", "null"]},
        "ont_rx_level_dbm": {"type": ["number", "null"]},
        "fault_cause": _enum(FaultCause, nullable=True),
        "guarantee_status": {"type": ["string", "null"]},
        "billing_classification": {"type": ["string", "null"]},
        "rectification_count": {"type": "integer"},
        "is_infrastructure": {"type": "boolean"},
        "verification": {
            "type": "object",
            "properties": {
                "done": {"type": "integer"},
                "total": {"type": "integer"},
                "steps": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "number": {"type": "integer"},
                            "name": {"type": "string"},
                            "photo_required": {"type": "boolean"},
                            "complete": {"type": "boolean"},
                        },
                    },
                },
            },
        },
        "sla": {
            "type": "object",
            "properties": {"response": _TIMER, "resolution": _TIMER},
        },
        "created_at": {"type": "string", "format": "date-time"},
        "updated_at": {"type": "string", "format": "date-time"},
    },
}

_REF = {"name": "ref", "in": "path", "required": True, "schema": {"type": "string"},
        "description": "FF ref (loosely typed: ff123, FF-000123) or an external ref (FT406824)"}


def _list_of(name: str) -> dict[str, Any]:
    return {
        "get": {
            "summary": f"The ticket's {name}",
            "parameters": [_REF],
            "responses": {
                "200": {"description": "ok", "content": {"application/json": {"schema": {
                    "type": "object",
                    "properties": {"ref": {"type": "string"}, "items": {"type": "array"}},
                }}}},
                **_errors(401, 404),
            },
        }
    }


def _query(name: str, schema: dict[str, Any], description: str = "") -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema,
            "description": description}


# The list's filters; the exports take the same (handlers/ticket_filters.py).
_FILTERS = [
    _query("status", {"type": "string"}, "comma-separated statuses"),
    _query("priority", {"type": "string"}, "comma-separated priorities"),
    _query("assignee", {"type": "string"}, "phone, Slack id, email, id or none"),
    _query("contractor", {"type": "string"}),
    _query("project", {"type": "string"}),
    _query("zone", {"type": "string"}),
    _query("dr", {"type": "string"}),
    _query("pole", {"type": "string"}),
    _query("pon", {"type": "string"}),
    _query("sla", {"type": "string"}, "comma-separated: on_track, near_breach, breached"),
    _query("q", {"type": "string"}, "full text"),
]


def _write(summary: str, body: str | None, ok: int = 200,
           errors: tuple[int, ...] = (401, 403, 404, 409, 422)) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": summary,
        "responses": {str(ok): {"description": "the ticket after the change",
                                "content": {"application/json": {"schema": {
                                    "$ref": "#/components/schemas/Ticket"}}}},
                      **_errors(*errors)},
    }
    if body:
        op["requestBody"] = {"required": True, "content": {"application/json": {
            "schema": {"$ref": f"#/components/schemas/{body}"}}}}
    return op


def _body_schemas() -> dict[str, Any]:
    from handlers.api.writes import BODIES

    schemas: dict[str, Any] = {}
    for name, model in BODIES.items():
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        for sub_name, sub in schema.pop("$defs", {}).items():
            schemas[sub_name] = sub
        schemas[name] = schema
    return schemas


def _writes() -> dict[str, Any]:
    ref_param = {"parameters": [_REF]}
    return {
        "/api/v1/tickets/{ref}/assign": {"post": {**_write("Assign", "AssignBody"),
                                                  **ref_param}},
        "/api/v1/tickets/{ref}/status": {"post": {**_write("Move along the workflow",
                                                           "StatusBody"), **ref_param}},
        "/api/v1/tickets/{ref}/notes": {"post": {**_write("Add a note", "NoteBody"),
                                                 **ref_param}},
        "/api/v1/tickets/{ref}/readings": {"post": {**_write("Record a reading",
                                                             "ReadingBody"), **ref_param}},
        "/api/v1/tickets/{ref}/fault-cause": {"post": {**_write("Set the fault cause",
                                                                "CauseBody"), **ref_param}},
        "/api/v1/tickets/{ref}/risks": {"post": {**_write("Request a risk acceptance",
                                                          "RiskBody"), **ref_param}},
        "/api/v1/tickets/{ref}/handovers": {"post": {**_write("Hand over", "HandoverBody"),
                                                     **ref_param}},
        "/api/v1/tickets/{ref}/readiness": {"post": {**_write("Run the QA readiness check",
                                                              None), **ref_param}},
        "/api/v1/tickets/{ref}/escalate": {"post": {
            **_write("Escalate to the next level of the SLA chain now", "EscalateBody"),
            **ref_param}},
        "/api/v1/tickets/{ref}/ack": {"post": {
            **_write("Acknowledge (meets the response timer)", None), **ref_param}},
        "/api/v1/risks/{risk_id}/resolve": {"post": {
            "summary": "Resolve an approved risk acceptance, with notes",
            "parameters": [{"name": "risk_id", "in": "path", "required": True,
                            "schema": {"type": "integer"}}],
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/ResolveBody"}}}},
            "responses": {"200": {"description": "resolved"}, **_errors(401, 403, 404, 409, 422)},
        }},
        "/api/v1/risks/{risk_id}/decision": {"post": {
            "summary": "Approve or reject a risk acceptance (managers)",
            "parameters": [{"name": "risk_id", "in": "path", "required": True,
                            "schema": {"type": "integer"}}],
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/DecisionBody"}}}},
            "responses": {"200": {"description": "decided"}, **_errors(401, 403, 404, 409, 422)},
        }},
        "/api/v1/imports/weekly": {"post": {
            "summary": "Import a weekly report workbook (multipart, field 'file')",
            "parameters": [_query("dry_run", {"type": "boolean"})],
            "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
                "type": "object", "properties": {"file": {"type": "string",
                                                          "format": "binary"}}}}}},
            "responses": {"201": {"description": "the import report"},
                          "200": {"description": "a dry run's report"},
                          **_errors(401, 403, 413, 415, 422)},
        }},
        "/api/v1/imports/{uid}": {"get": {
            "summary": "An import's report, by its uid or its WR{year}-W{week} (latest run)",
            "parameters": [{"name": "uid", "in": "path", "required": True,
                            "schema": {"type": "string"}}],
            "responses": {"200": {"description": "the report"}, **_errors(401, 404)},
        }},
        "/api/v1/exports/tickets.xlsx": {"get": {
            "parameters": _FILTERS,
            "summary": "Tickets as a workbook in the weekly report's columns",
            "responses": {"200": {"description": "xlsx"}, **_errors(401, 422)}}},
        "/api/v1/exports/tickets.csv": {"get": {
            "parameters": _FILTERS,
            "summary": "Tickets as CSV in the weekly report's columns",
            "responses": {"200": {"description": "csv"}, **_errors(401, 422)}}},
    }


def document() -> dict[str, Any]:
    doc = _reads()
    doc["components"]["schemas"].update(_body_schemas())
    doc["paths"]["/api/v1/tickets"]["post"] = _write("Log a ticket", "CreateTicket", 201)
    doc["paths"]["/api/v1/tickets/{ref}"]["patch"] = _write("Change fields", "UpdateTicket")
    doc["paths"]["/api/v1/tickets/{ref}"]["patch"]["parameters"] = [_REF]
    for path, operations in _writes().items():  # beside the reads of the same path
        doc["paths"].setdefault(path, {}).update(operations)
    return doc


def _reads() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "ticketbot REST API", "version": "1"},
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {"Error": _ERROR, "Ticket": _TICKET},
        },
        "paths": {
            "/api/v1/tickets": {
                "get": {
                    "summary": "List tickets visible to the caller",
                    "parameters": [
                        *_FILTERS,
                        _query("limit", {"type": "integer", "minimum": 1, "maximum": 200}),
                        _query("offset", {"type": "integer", "minimum": 0}),
                    ],
                    "responses": {
                        "200": {"description": "a page of tickets", "content": {
                            "application/json": {"schema": {
                                "type": "object",
                                "properties": {
                                    "items": {"type": "array",
                                              "items": {"$ref": "#/components/schemas/Ticket"}},
                                    "total": {"type": "integer"},
                                    "limit": {"type": "integer"},
                                    "offset": {"type": "integer"},
                                },
                            }}}},
                        **_errors(401, 422),
                    },
                }
            },
            "/api/v1/tickets/{ref}": {
                "get": {
                    "summary": "One ticket with verification progress and SLA timers",
                    "parameters": [_REF],
                    "responses": {
                        "200": {"description": "the ticket", "content": {"application/json": {
                            "schema": {"$ref": "#/components/schemas/Ticket"}}}},
                        **_errors(401, 404),
                    },
                }
            },
            "/api/v1/tickets/{ref}/audit": _list_of("audit trail"),
            "/api/v1/tickets/{ref}/handovers": _list_of("handover snapshots"),
            "/api/v1/tickets/{ref}/risks": _list_of("risk acceptances"),
            **_media(),
        },
    }


_ATTACHMENT_ID = {"name": "attachment_id", "in": "path", "required": True,
                  "schema": {"type": "integer", "minimum": 1}}
_FILE = {"description": "the file as stored, with its Content-Type, Content-Length, "
                        "ETag (its SHA-256) and Content-Disposition",
         "content": {mime: {"schema": {"type": "string", "format": "binary"}}
                     for mime in ("image/jpeg", "image/png", "image/webp", "image/heic",
                                  "image/gif", "application/pdf")}}


def _media() -> dict[str, Any]:
    attachment = {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "ticket_id": {"type": "integer"},
            "step_number": {"type": ["integer", "null"]},
            "sha256": {"type": "string"},
            "mimetype": {"type": "string"},
            "size": {"type": "integer"},
            "filename": {"type": ["string", "null"]},
            "uploaded_by_id": {"type": ["integer", "null"]},
            "created_at": {"type": "string", "format": "date-time"},
            "url": {"type": "string", "format": "uri",
                    "description": "signed link that opens the file without a token"},
            "url_expires_at": {"type": "integer", "description": "when `url` expires (Unix)"},
        },
    }
    return {
        "/api/v1/tickets/{ref}/attachments": {"get": {
            "summary": "The ticket's attachments, each with a signed link",
            "parameters": [_REF],
            "responses": {
                "200": {"description": "ok", "content": {"application/json": {"schema": {
                    "type": "object",
                    "properties": {"ref": {"type": "string"},
                                   "items": {"type": "array", "items": attachment}},
                }}}},
                **_errors(401, 404),
            },
        }},
        "/api/v1/tickets/{ref}/attachments/{attachment_id}": {"get": {
            "summary": "Download an attachment of a ticket the caller may see",
            "parameters": [_REF, _ATTACHMENT_ID],
            "responses": {"200": _FILE, "304": {"description": "If-None-Match matched"},
                          **_errors(401, 404)},
        }},
        "/media/{attachment_id}": {"get": {
            "summary": "Open an attachment through a signed link (no token; it expires)",
            "security": [],
            "parameters": [
                _ATTACHMENT_ID,
                {**_query("expires", {"type": "integer"}, "Unix time the link expires"),
                 "required": True},
                {**_query("sig", {"type": "string", "pattern": "^[0-9a-f]{64}$"},
                          "HMAC-SHA256 of the attachment id and the expiry"),
                 "required": True},
            ],
            "responses": {"200": _FILE, "304": {"description": "If-None-Match matched"},
                          **_errors(403, 404)},
        }},
    }
