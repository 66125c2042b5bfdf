"""Command-line values without pydantic where none is needed.

typer (0.2x) coerces every parameter through a pydantic ``TypeAdapter``, built the first time a
parameter is processed, even for an option left at its ``None`` default; importing pydantic
alone costs about 60 ms of every command's start-up. Here a ``str`` or plain ``Path`` value is
taken as it is, and any other type builds typer's own coercion only for a value other than the
command's default, so messages for bad values stay typer's. With a typer without that layer this does nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union, get_args, get_origin


def install() -> None:
    """Make typer build pydantic-based coercion only for values that need it."""
    try:
        from typer import _coercion, core
    except ImportError:  # pragma: no cover - a typer without the adapter layer
        return
    build = getattr(core, "build_runtime_param", None)
    if build is None or not hasattr(_coercion, "RuntimeParam"):  # pragma: no cover
        return

    @dataclass(frozen=True)
    class Plain(_coercion.RuntimeParam):
        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            return Path(value) if self.annotation is Path else value

    @dataclass(frozen=True)
    class Deferred(_coercion.RuntimeParam):
        descriptor: Any = None
        built: list = field(default_factory=list, compare=False)

        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            if type(value) is self.annotation and value == getattr(param, "default", None):
                return value  # the command's own default
            if not self.built:
                self.built.append(build(self.descriptor))
            return self.built[0]._coerce_value(value, param, ctx)

    def lean(descriptor: Any) -> Any:
        plain = _plain(descriptor)
        if plain is not None:
            return Plain(annotation=plain, parameter_info=descriptor.parameter_info)
        return Deferred(annotation=descriptor.annotation, parameter_info=descriptor.parameter_info,
                        descriptor=descriptor)

    core.build_runtime_param = lean


def _plain(descriptor: Any) -> type | None:
    """``str`` or ``Path`` for a parameter of that type (or Optional) that needs no checks."""
    annotation = descriptor.annotation
    if get_origin(annotation) is Union:
        kinds = [a for a in get_args(annotation) if a is not type(None)]
        annotation = kinds[0] if len(kinds) == 1 else annotation
    info = descriptor.parameter_info
    if annotation not in (str, Path) or getattr(info, "parser", None) is not None \
            or descriptor.file_annotation is not None or descriptor.is_choice:
        return None
    if annotation is Path and (info.exists or info.writable or info.resolve_path or info.allow_dash
                               or info.path_type is not None):
        return None
    return annotation
