"""Declaring the API's endpoints, and serving them.

A handler declares what it takes in its signature and what it answers in its return type:

    @routes.read("/view/contact/api.json", "viewContact", summary="Get one contact",
                 errors=(ErrorCode.CONTACT_NOT_FOUND,))
    async def view_contact(contacts: Contacts, ref: ContactRef) -> Answer[ViewContact]:

`Routes.read` (GET), `Routes.write` (GET and POST, for calls that change data) and
`Routes.upload` (POST with a file, an import) read that signature once, when the module is
imported. Per request the endpoint then does exactly this: read the parameters, check the API
key, parse the request model, make the repositories bound to the key's user, call the
handler, send its answer (an upload's file is read by the handler, as a stream). Nothing
else is resolved per request; docs/architecture.md says why this path does not go through
FastAPI's.
"""

from __future__ import annotations

import hashlib
import inspect
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, get_args, get_type_hints

import orjson
from starlette.types import Receive, Scope, Send

from contacts_api.database.pool import Database
from contacts_api.database.repository import TenantRepository
from contacts_api.errors import ApiError, DatabaseUnavailable, ErrorCode
from contacts_api.fields.core import RequestModel
from contacts_api.http.apikey import KeyCache, authenticate
from contacts_api.http.edge import INFO, RequestInfo
from contacts_api.http.envelope import Answer, CsvFile, Success, code_answer, error_answer
from contacts_api.http.idempotency import Once, idempotency_key
from contacts_api.http.params import Params, read_params
from contacts_api.http.upload import Upload
from contacts_api.logs import RateLimited

log = logging.getLogger("contacts_api")
_unavailable = RateLimited(log)

Handler = Callable[..., Awaitable[Answer[Any]]]


@dataclass(frozen=True)
class Services:
    """What the endpoints of one running app share."""

    db: Database
    keys: KeyCache
    retry_after: int
    idempotency_ttl: float  # seconds


@dataclass(frozen=True, slots=True)
class Context:
    params: Params
    controluser: int
    db: Database  # the pool, or the connection of the request's transaction
    upload: Upload | None = None


Resolver = Callable[[Context], Any]


def _resolver(name: str, annotation: Any) -> Resolver:
    """How a handler parameter of this type is made for a request."""
    if inspect.isclass(annotation) and issubclass(annotation, RequestModel):
        model: type[RequestModel] = annotation
        return lambda ctx: model.parse(ctx.params)
    if inspect.isclass(annotation) and issubclass(annotation, TenantRepository):
        repository: type[TenantRepository] = annotation
        return lambda ctx: repository(ctx.db, ctx.controluser)
    if annotation is Database:
        return lambda ctx: ctx.db
    if annotation is Upload:
        return lambda ctx: ctx.upload
    raise TypeError(f"handler parameter {name}: cannot provide a {annotation!r}")


@dataclass(eq=False)
class Endpoint:
    path: str
    methods: tuple[str, ...]
    operation_id: str
    summary: str
    tag: str
    handler: Handler
    errors: tuple[ErrorCode, ...]
    public: bool  # no API key (health probes)
    idempotent: bool  # takes an Idempotency-Key (every call that changes data)
    upload: bool = False  # a POST whose body is a file (`Upload`), not a form
    description: str = ""
    request_model: type[RequestModel] | None = None
    response_model: type[Success] | type[CsvFile] = field(init=False)
    resolvers: tuple[Resolver, ...] = field(init=False)
    uses_database: bool = field(init=False)

    def __post_init__(self) -> None:
        hints = get_type_hints(self.handler)
        (self.response_model,) = get_args(hints.pop("return"))
        self.resolvers = tuple(_resolver(name, hint) for name, hint in hints.items())
        models = [h for h in hints.values() if inspect.isclass(h) and issubclass(h, RequestModel)]
        assert len(models) <= 1, f"{self.path}: one request model per endpoint"
        self.request_model = models[0] if models else None
        self.description = inspect.getdoc(self.handler) or ""
        self.uses_database = not self.public or Database in hints.values()

    @property
    def codes(self) -> tuple[ErrorCode, ...]:
        """Every error code this endpoint can answer with, in the order it checks them."""
        codes: list[ErrorCode] = []
        if not self.public:
            codes += [ErrorCode.APIKEY_EMPTY, ErrorCode.APIKEY_INVALID]
        if self.request_model is not None:
            for param in self.request_model.params().values():
                codes += param.all_codes
        codes += self.errors
        if self.idempotent:
            codes += [
                ErrorCode.IDEMPOTENCY_KEY_INVALID,
                ErrorCode.IDEMPOTENCY_KEY_REUSED,
                ErrorCode.IDEMPOTENCY_KEY_IN_PROGRESS,
            ]
        if self.uses_database:
            codes.append(ErrorCode.SERVICE_UNAVAILABLE)
        return tuple(dict.fromkeys(codes))

    async def serve(self, scope: Scope, receive: Receive, send: Send, services: Services) -> None:
        info: RequestInfo = scope.get(INFO) or RequestInfo()
        info.route = self.path
        try:
            answer = await self._answer(scope, receive, services, info)
        except ApiError as error:
            answer = error_answer(error)
        except DatabaseUnavailable as exc:
            _unavailable.warning("database unavailable: %s", type(exc.__cause__ or exc).__name__)
            retry_after = {"Retry-After": str(services.retry_after)}
            answer = code_answer(ErrorCode.SERVICE_UNAVAILABLE, **retry_after)
        except Exception:
            log.exception("unexpected error in %s", self.operation_id)
            answer = code_answer(ErrorCode.INTERNAL_ERROR)
        if answer.status != 200:
            info.error = answer.code
        await answer.send(send)

    async def _answer(
        self, scope: Scope, receive: Receive, services: Services, info: RequestInfo
    ) -> Answer[Any]:
        params = await read_params(scope, receive, form=not self.upload)
        controluser = 0
        if not self.public:
            controluser = info.controluser = await authenticate(
                scope, params, services.db, services.keys
            )
        key = idempotency_key(scope) if self.idempotent else None
        upload, file_digest = None, b""
        if self.upload:
            upload = await Upload.start(scope, receive, params)
            if self.request_model is not None:
                self.request_model.parse(params)  # the options, checked before the file is read
            if key is not None:
                upload = await upload.spooled()
                file_digest = upload.digest or b""
        if key is not None:
            once = Once(
                services.db,
                services.idempotency_ttl,
                controluser=controluser,
                path=self.path,
                key=key,
                fingerprint=self.fingerprint(params, file_digest),
            )
            return await once.answer(lambda db: self._call(params, controluser, db, upload))
        return await self._call(params, controluser, services.db, upload)

    async def _call(
        self, params: Params, controluser: int, db: Database, upload: Upload | None
    ) -> Answer[Any]:
        context = Context(params, controluser, db, upload)
        return await self.handler(*[resolve(context) for resolve in self.resolvers])

    def fingerprint(self, params: Params, file_digest: bytes = b"") -> bytes:
        """The request's parameters after the rules of contract §1 (only those the endpoint
        takes, stripped, empty ones left out), whatever method or encoding carried them; and
        an upload's file."""
        names = self.request_model.params() if self.request_model else {}
        given = {name: text for name in names if (text := params.get(name, "").strip())}
        return hashlib.sha256(
            orjson.dumps(given, option=orjson.OPT_SORT_KEYS) + file_digest
        ).digest()


class Routes:
    """The endpoints of one area of the API (one tag in the OpenAPI document)."""

    def __init__(self, tag: str) -> None:
        self.tag = tag
        self.endpoints: list[Endpoint] = []

    def read(
        self,
        path: str,
        operation_id: str,
        *,
        summary: str,
        errors: tuple[ErrorCode, ...] = (),
        public: bool = False,
    ) -> Callable[[Handler], Handler]:
        """An endpoint that changes nothing: GET."""
        return self._add(
            path,
            operation_id=operation_id,
            methods=("GET",),
            summary=summary,
            errors=errors,
            public=public,
            idempotent=False,
        )

    def write(
        self, path: str, operation_id: str, *, summary: str, errors: tuple[ErrorCode, ...] = ()
    ) -> Callable[[Handler], Handler]:
        """An endpoint that changes data: GET, and POST with the parameters in the query string
        or a form body (contract §1)."""
        return self._add(
            path,
            operation_id=operation_id,
            methods=("GET", "POST"),
            summary=summary,
            errors=errors,
            public=False,
            idempotent=True,
        )

    def upload(
        self, path: str, operation_id: str, *, summary: str, errors: tuple[ErrorCode, ...] = ()
    ) -> Callable[[Handler], Handler]:
        """An endpoint that takes a file (an import): POST only, the file as the body or as a
        multipart part, the options in the query string or multipart fields."""
        return self._add(
            path,
            operation_id=operation_id,
            methods=("POST",),
            summary=summary,
            errors=errors,
            public=False,
            idempotent=True,
            upload=True,
        )

    def _add(
        self,
        path: str,
        *,
        operation_id: str,
        methods: tuple[str, ...],
        summary: str,
        errors: tuple[ErrorCode, ...],
        public: bool,
        idempotent: bool,
        upload: bool = False,
    ) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            endpoint = Endpoint(
                path,
                methods,
                operation_id,
                summary,
                self.tag,
                handler,
                errors,
                public,
                idempotent,
                upload,
            )
            self.endpoints.append(endpoint)
            return handler

        return register


class EndpointTable:
    """Exact-path dispatch: one dict look-up per request, however many endpoints there are."""

    def __init__(self, *routes: Routes) -> None:
        self.endpoints = [endpoint for area in routes for endpoint in area.endpoints]
        self._by_path: dict[str, dict[str, Endpoint]] = {}
        for endpoint in self.endpoints:
            methods = self._by_path.setdefault(endpoint.path, {})
            for method in endpoint.methods:
                assert method not in methods, f"{method} {endpoint.path} declared twice"
                methods[method] = endpoint

    def methods(self, path: str) -> dict[str, Endpoint] | None:
        return self._by_path.get(path)
