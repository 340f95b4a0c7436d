"""Errors meant for people. Anything that is not a DomainError is a bug, logged with an id."""

from __future__ import annotations


class DomainError(Exception):
    """A refusal or a mistake the user can fix; `message` is shown to them as is."""

    code = "bad_request"
    http_status = 400

    def __init__(self, message: str, *, details: object = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class NotFound(DomainError):
    code = "not_found"
    http_status = 404


class PermissionDenied(DomainError):
    code = "forbidden"
    http_status = 403


class InvalidInput(DomainError):
    code = "invalid"
    http_status = 422


class Conflict(DomainError):
    """The change is valid in general but not in the ticket's current state (a guard failed)."""

    code = "conflict"
    http_status = 409
