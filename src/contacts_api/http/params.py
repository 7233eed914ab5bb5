"""Reading request parameters the way the contract says (§1).

GET reads the query string; POST reads the query string and then an
`application/x-www-form-urlencoded` body, so a body value wins over the query's. The last
value of a repeated parameter wins, and a value that is not valid UTF-8 is kept as
`InvalidText`, so validation can answer `<FIELD>_INVALID` instead of guessing.
"""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

from starlette.types import Receive, Scope

from contacts_api.fields.core import InvalidText

Params = dict[str, str]

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
_FORM = FORM_CONTENT_TYPE.encode()


def parse_urlencoded(raw: bytes) -> Params:
    params: Params = {}
    for pair in raw.split(b"&"):
        if not pair:
            continue
        name, _, value = pair.partition(b"=")
        key = decode_value(name)
        if isinstance(key, InvalidText):
            continue  # a name that is not text cannot be one of ours: ignored like any unknown
        params[key] = decode_value(value)
    return params


def decode_value(raw: bytes) -> str:
    """Text, or InvalidText (its lossy decoding) when `raw` is not UTF-8."""
    if b"%" not in raw and b"+" not in raw:
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return InvalidText(raw.decode("utf-8", errors="replace"))
    data = unquote_to_bytes(raw.replace(b"+", b" "))
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return InvalidText(data.decode("utf-8", errors="replace"))


def header(scope: Scope, name: bytes) -> bytes | None:
    """The last value of a request header (names are lower-case in ASGI)."""
    found = None
    for key, value in scope["headers"]:
        if key == name:
            found = value
    return found


def is_form(scope: Scope) -> bool:
    content_type = header(scope, b"content-type") or b""
    return content_type.split(b";", 1)[0].strip().lower() == _FORM


async def read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


async def read_params(scope: Scope, receive: Receive, *, form: bool = True) -> Params:
    """The query string's parameters, then (`form`) those of a POST's form body."""
    params = parse_urlencoded(scope["query_string"])
    if form and scope["method"] == "POST" and is_form(scope):
        params.update(parse_urlencoded(await read_body(receive)))
    return params
