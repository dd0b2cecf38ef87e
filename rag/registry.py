"""Backends chosen by name from settings, built once per distinct configuration."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Generic, TypeVar

from .config import Settings
from .errors import ConfigError

__all__ = ["Registry"]

T = TypeVar("T")


class Registry(Generic[T]):
    """Maps the value of one setting (``llm = "openai"``) to a factory.

    Instances are cached by the settings that shape them, so a model is loaded
    once per process however many callers ask for it.
    """

    def __init__(
        self,
        kind: str,
        setting: str,
        factories: Mapping[str, Callable[[Settings], T]],
        key_fields: tuple[str, ...],
    ) -> None:
        self.kind = kind
        self.setting = setting
        self.factories = factories
        self.key_fields = key_fields
        self._cache: dict[tuple[object, ...], T] = {}
        self._lock = threading.Lock()

    def get(self, settings: Settings) -> T:
        name = getattr(settings, self.setting)
        factory = self.factories.get(name)
        if factory is None:
            raise ConfigError(
                f"unknown {self.kind} {name!r} (setting {self.setting}, env RAG_{self.setting.upper()}); "
                f"choose one of: {', '.join(sorted(self.factories))}"
            )
        key = (name, *(getattr(settings, f) for f in self.key_fields))
        with self._lock:
            if key not in self._cache:
                self._cache[key] = factory(settings)
            return self._cache[key]
