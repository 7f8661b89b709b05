"""OpenAPI post-processing: document the error responses every DRF view can give.

drf-spectacular documents the success response of each operation only; DRF itself
answers 400 for bad input, 401 for bad credentials, 403 for a forbidden action, 404
for an unknown object or page, 415 for a body it cannot parse and 429 when throttled.
Clients (and the schema fuzz test) must be able to rely on the schema listing them.
"""

ERROR_SCHEMA = {
    "type": "object",
    "description": "DRF's error body: `detail`, or the invalid fields with their errors.",
    "additionalProperties": True,
}
REASONS = {
    "400": "Invalid input: the body names each invalid field or parameter.",
    "401": "Missing, invalid or revoked credentials.",
    "403": "Authenticated, but not allowed to do this.",
    "404": "No such object, or not one the caller may see; or no such page.",
    "415": "The body is not in a media type the operation accepts (or is malformed).",
    "429": "Too many requests; retry after the `Retry-After` seconds.",
}
METHODS = {"get", "put", "post", "patch", "delete"}


def _error_codes(operation: dict, method: str) -> list[str]:
    parameters = operation.get("parameters", [])
    public = {} in operation.get("security", [{}])
    codes = ["401", "429"]
    if parameters or "requestBody" in operation:
        codes.append("400")
    if "requestBody" in operation:
        codes.append("415")
    if not public or method != "get":
        codes.append("403")
    if any(p["in"] == "path" for p in parameters) or any(
        p["in"] == "query" and p["name"] == "page" for p in parameters
    ):
        codes.append("404")
    return codes


def document_error_responses(result, generator, request, public):
    """Add DRF's error responses to each operation that does not document them."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault("Error", ERROR_SCHEMA)
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            if method not in METHODS:
                continue
            responses = operation.setdefault("responses", {})
            for code in _error_codes(operation, method):
                responses.setdefault(
                    code,
                    {
                        "description": REASONS[code],
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/Error"}
                            }
                        },
                    },
                )
    return result
