"""Reading request parameters the way the contract says (§1).

GET reads the query string; POST reads the query string and then an
`application/x-www-form-urlencoded` body, so a body value wins over the query's. The last
value of a repeated parameter wins, and a value that is not valid UTF-8 is kept as
`InvalidText`, so validation can answer `<FIELD>_INVALID` instead of guessing.
"""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

from starlette.requests import Request


class InvalidText(str):
    """A parameter whose bytes were not UTF-8; its text is the lossy decoding, for echoing."""

    __slots__ = ()


Params = dict[str, str]

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"


def parse_urlencoded(raw: bytes) -> Params:
    params: Params = {}
    for pair in raw.split(b"&"):
        if not pair:
            continue
        name, _, value = pair.partition(b"=")
        key = _decode(name)
        if isinstance(key, InvalidText):
            continue  # a name that is not text cannot be one of ours: ignored like any unknown
        params[key] = _decode(value)
    return params


def _decode(raw: bytes) -> str:
    data = unquote_to_bytes(raw.replace(b"+", b" "))
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return InvalidText(data.decode("utf-8", errors="replace"))


async def read_params(request: Request) -> Params:
    params = parse_urlencoded(request.scope["query_string"])
    if request.method == "POST":
        content_type = request.headers.get("content-type", "")
        if content_type.split(";", 1)[0].strip().lower() == FORM_CONTENT_TYPE:
            params.update(parse_urlencoded(await request.body()))
    return params
