"""A page of a longer list: its items and how many match in all."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True, kw_only=True)
class Page(Generic[T]):
    items: list[T] = field(default_factory=list)
    total: int = 0
    """Every match, in all pages together."""
