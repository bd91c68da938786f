"""OpenAPI: the error answers every operation can give, documented once.

Every API error goes through `core.errors.api_exception_handler`, so every operation can
answer the same envelope for the same reasons: 400 for bad input (parameters or body), 401
and 403 when it needs credentials, 404 when its input names an object the caller cannot see
(path, query or body: invisible is 404, `core.scoping`) or an unknown `?format=`, 415 for a
body in a media type it does not read, 429 from the throttles. Operations document their
success answers and their own errors (`extend_schema(responses=...)`); this hook adds the
shared ones they did not list.
"""

ERROR_SCHEMA = {
    "type": "object",
    "description": "The API's error envelope (core/errors.py).",
    "properties": {
        "error": {"type": "string"},
        "message": {"type": "string"},
        "status_code": {"type": "integer"},
        "details": {"type": "object", "additionalProperties": {}},
        "request_id": {"type": "string", "nullable": True},
    },
    "required": ["error", "message", "status_code", "details"],
}

_DESCRIPTIONS = {
    "400": "Invalid input (error envelope, `details` per field)",
    "401": "Not authenticated (error envelope)",
    "403": "Not allowed (error envelope)",
    "404": "An object named in the input is not found or not visible to the caller (error envelope)",
    "415": "A body without a Content-Type or in one the operation does not read (error envelope)",
    "429": "Rate limited (error envelope, `Retry-After` header)",
}
_METHODS = ("get", "put", "post", "delete", "patch")


def _shared_errors(path: str, operation: dict) -> list[str]:
    codes = ["429"]
    if operation.get("parameters") or operation.get("requestBody") or "{" in path:
        codes += ["400", "404"]
    if operation.get("requestBody"):
        codes.append("415")
    if any(requirement for requirement in operation.get("security", [{}])):
        codes += ["401", "403"]
    return codes


def postprocess_error_responses(result, generator, request, public):
    """drf-spectacular postprocessing hook: the shared error answers on every operation."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    content = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if method not in _METHODS:
                continue
            responses = operation.setdefault("responses", {})
            for code in _shared_errors(path, operation):
                responses.setdefault(code, {"description": _DESCRIPTIONS[code], "content": content})
    return result
