"""Parameter types and request models: where each parameter's rule lives.

A `ParamType` is one kind of parameter (a full name, an msisdn, a contact ID, ...). It holds
the whole rule in one place: the check that turns the text received into a value or fails with
our error code, the codes that check can answer, its JSON Schema for the OpenAPI document and
its description. A request model is a pydantic model whose fields are annotated with these
types; `RequestModel.parse` validates the parameters of one request and turns every problem
into one `ApiError` (contract §3: every code, in field order, with the values echoed).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, NoReturn, Self, cast

from pydantic import BaseModel, ConfigDict, GetCoreSchemaHandler, PrivateAttr
from pydantic_core import CoreSchema, PydanticCustomError, core_schema

from contacts_api.errors import ApiError, ErrorCode

COMPONENTS = "#/components/schemas/"
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class InvalidText(str):
    """A parameter whose bytes were not UTF-8; its text is the lossy decoding, for echoing."""

    __slots__ = ()


def fail(code: ErrorCode) -> NoReturn:
    raise PydanticCustomError(code.value, code.value)


def is_bad_text(raw: str) -> bool:
    """Not UTF-8, or a control character anywhere (contract §1), even one that `str.strip`
    would take for white space at the ends (U+000A, U+001F, U+0085)."""
    return isinstance(raw, InvalidText) or _CONTROL.search(raw) is not None


@dataclass(frozen=True, eq=False)
class ParamType:
    """One kind of parameter: its check, its codes, its JSON Schema and its description.

    `check` receives the stripped, non-empty text and answers the value, or calls `fail`.
    A value that is missing or empty is "not given" (contract §1): `None`, or `empty` for a
    required parameter. Text with a control character or invalid UTF-8 fails with `invalid`
    before any other check. `not_found` is the 404 code for an ID that is not the user's.
    """

    name: str  # its OpenAPI component
    check: Callable[[str], Any]
    invalid: ErrorCode
    schema: Mapping[str, Any]
    description: str
    empty: ErrorCode | None = None
    codes: tuple[ErrorCode, ...] = ()  # what `check` may answer besides `invalid`
    not_found: ErrorCode | None = None
    examples: tuple[Any, ...] = field(default=())

    def validate(self, raw: Any) -> Any:
        if raw is not None and is_bad_text(raw):
            fail(self.invalid)
        return self.validate_text(raw)

    def validate_text(self, raw: Any) -> Any:
        """`validate` for text already known to pass `is_bad_text` (an import checks a whole
        record once instead of each of its cells)."""
        text = "" if raw is None else raw.strip()
        if not text:
            if self.empty is not None:
                fail(self.empty)
            return None
        return self.check(text)

    @property
    def all_codes(self) -> tuple[ErrorCode, ...]:
        """Every code a value of this type can fail with, in the order they are checked."""
        codes = ([self.empty] if self.empty else []) + [self.invalid, *self.codes]
        return tuple(dict.fromkeys(codes))

    @property
    def component(self) -> dict[str, Any]:
        """The JSON Schema of a value as sent, named `name` in the OpenAPI document."""
        schema = {**self.schema, "description": self.description}
        if self.examples:
            schema["examples"] = list(self.examples)
        return schema

    @property
    def ref(self) -> dict[str, str]:
        return {"$ref": COMPONENTS + self.name}

    def __get_pydantic_core_schema__(
        self, source: type[Any], handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        return core_schema.no_info_plain_validator_function(self.validate)

    def __get_pydantic_json_schema__(self, schema: CoreSchema, handler: Any) -> dict[str, Any]:
        return self.ref


def param_type(annotation_metadata: list[Any]) -> ParamType:
    """The `ParamType` a request model field is annotated with."""
    for item in annotation_metadata:
        if isinstance(item, ParamType):
            return item
    raise TypeError("a request model field must be annotated with a ParamType")


class RequestModel(BaseModel):
    """Base of every request model. Fields are declared in the documented parameter order, so
    problems are reported in that order (contract §3), and each is annotated with a
    `ParamType`. The raw values stay with the model for the echo of later errors.

    `echo_key` names the echo object of the endpoint (`contact`, `group`, ...). A `partial`
    model (an update) validates only the parameters that were sent (and the required ones):
    `model_fields_set` then tells an empty one, which clears a field, from one not sent.
    """

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)
    echo_key: ClassVar[str]
    partial: ClassVar[bool] = False
    _raw: dict[str, str | None] = PrivateAttr(default_factory=dict)

    _params: ClassVar[dict[str, ParamType]] = {}

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        cls._params = {name: param_type(f.metadata) for name, f in cls.model_fields.items()}

    @classmethod
    def params(cls) -> dict[str, ParamType]:
        """Each parameter's name and type, in the documented order."""
        return cls._params

    @classmethod
    def required(cls) -> list[str]:
        """The parameters that must be sent (the fields without a default)."""
        return [name for name, field in cls.model_fields.items() if field.is_required()]

    @classmethod
    def parse(cls, params: Mapping[str, str], *, text_checked: bool = False) -> Self:
        """`text_checked`: the caller has found no bad text (`is_bad_text`) in any value."""
        given: dict[str, str | None]
        if cls.partial:
            given = {
                name: params.get(name)
                for name, field in cls.model_fields.items()
                if name in params or field.is_required()
            }
        else:
            given = {name: params.get(name) for name in cls.model_fields}
        # Each field's own check, in order, then the model built from the values without a
        # second validation: the same result as pydantic's model_validate with these plain
        # validators, at a third of its cost (an import checks a million rows this way).
        values: dict[str, Any] = {}
        codes: list[ErrorCode] = []
        echo: dict[str, Any] = {}
        params_of = cls._params
        validate = ParamType.validate_text if text_checked else ParamType.validate
        for name, raw in given.items():
            try:
                values[name] = validate(params_of[name], raw)
            except PydanticCustomError as error:
                codes.append(ErrorCode(error.type))
                echo[name] = echo_value(raw)
        if codes:
            raise ApiError(codes[0], errors=codes, echo_key=cls.echo_key, echo=echo)
        model = cls.model_construct(set(given), **values)
        model._raw = given
        return cast(Self, model)

    def echo(self, *names: str) -> dict[str, str | None]:
        return {name: echo_value(self._raw.get(name)) for name in names}

    def error(self, code: ErrorCode, *names: str) -> ApiError:
        """An error about some of this request's parameters, echoing them as received."""
        return ApiError.about(code, self.echo_key, self.echo(*names))

    def not_found(self, name: str) -> ApiError:
        """404: the ID in parameter `name` is not one of the user's."""
        code = self.params()[name].not_found
        assert code is not None, f"{name} is not an ID"
        return self.error(code, name)


def echo_value(raw: str | None) -> str | None:
    """A parameter as received, or None when it was missing or empty."""
    if raw is None or (not raw.strip() and not is_bad_text(raw)):
        return None
    return str(raw)
