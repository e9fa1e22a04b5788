"""Value matchers: one immutable class per event-pattern operator.

A matcher answers one question about one leaf value of an event (a ``str``, ``int``,
``float``, ``bool`` or ``None``): does it satisfy this clause?  Matchers are frozen,
hashable dataclasses so equal clauses compare equal; the rule index relies on that to
share states between rules, and the filter-policy layer can inspect them (each class
has an ``operator`` name and plain fields).

Type rules follow aws/event-ruler (the engine behind EventBridge):

* string operators (exact string, prefix, suffix, equals-ignore-case, wildcard, cidr)
  only ever match strings;
* numbers compare by IEEE-754 double value, so ``5`` equals ``5.0`` and ``3e2`` equals
  ``300``; booleans are never numbers;
* ``true``, ``false`` and ``null`` match only themselves;
* the anything-but family matches every value the excluded clause does not match,
  including values of another type (``{"anything-but": "x"}`` matches ``5`` and ``null``).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from socket import AF_INET, inet_pton
from typing import ClassVar

__all__ = [
    "AnythingBut",
    "AnythingButIgnoreCase",
    "AnythingButPrefix",
    "AnythingButSuffix",
    "AnythingButWildcard",
    "Cidr",
    "EqualsIgnoreCase",
    "ExactLiteral",
    "ExactNumber",
    "ExactString",
    "Exists",
    "IpExact",
    "Matcher",
    "NumericRange",
    "Prefix",
    "PrefixIgnoreCase",
    "Suffix",
    "SuffixIgnoreCase",
    "Wildcard",
    "fold",
    "parse_cidr",
    "parse_ip",
    "parse_wildcard",
    "to_number",
]

# event-ruler decides what "looks like" an IP literal with these two expressions before
# parsing; anything else stays a plain string.
_IPV4_RE = re.compile(r"[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+")
_IPV6_RE = re.compile(r"[0-9a-fA-F:]*:[0-9a-fA-F:]*")


def fold(text: str) -> str:
    """Caseless form used by every equals-ignore-case comparison."""
    return text.casefold()


def to_number(value: object) -> float | None:
    """The double value of a JSON number, or None for anything else (booleans included)."""
    t = type(value)
    if t is float:
        return value  # type: ignore[return-value]
    if t is int:
        try:
            return float(value)  # type: ignore[arg-type]
        except OverflowError:
            return None
    return None


def parse_ip(text: str) -> tuple[int, int] | None:
    """``(version, address)`` for an IPv4/IPv6 literal, else None.

    IPv4-mapped IPv6 addresses count as IPv4 (as Java's InetAddress does); IPv4 octets
    may carry leading zeros, read as decimal.
    """
    if _IPV4_RE.fullmatch(text):
        try:
            return 4, int.from_bytes(inet_pton(AF_INET, text), "big")
        except OSError:
            pass  # leading zeros, which inet_pton refuses, or an octet over 255
        address = 0
        for part in text.split("."):
            octet = int(part)
            if octet > 255:
                return None
            address = (address << 8) | octet
        return 4, address
    if ":" in text and _IPV6_RE.fullmatch(text):
        try:
            parsed = ipaddress.IPv6Address(text)
        except ValueError:
            return None
        mapped = parsed.ipv4_mapped
        if mapped is not None:
            return 4, int(mapped)
        return 6, int(parsed)
    return None


def parse_cidr(text: str) -> tuple[int, int, int]:
    """``(version, first, last)`` address of a CIDR block; raises ValueError if malformed.

    Host bits set in the base address are ignored (``10.0.0.7/30`` is ``10.0.0.4/30``).
    """
    base, sep, bits = text.partition("/")
    if not sep or "/" in bits:
        raise ValueError("a CIDR block needs exactly one '/', like 10.0.0.0/24")
    if not bits.isascii() or not bits.isdigit():
        raise ValueError(f"mask length {bits!r} is not a whole number")
    parsed = parse_ip(base)
    if parsed is None:
        raise ValueError(f"{base!r} is not an IPv4 or IPv6 address")
    version, address = parsed
    width = 32 if version == 4 else 128
    mask_bits = int(bits)
    if mask_bits > width:
        raise ValueError(f"mask length {mask_bits} is longer than {width} bits")
    host = (1 << (width - mask_bits)) - 1
    first = address & ~host
    return version, first, first | host


def parse_wildcard(text: str) -> tuple[str, ...]:
    """Split a wildcard pattern into its literal segments (one more than the ``*`` count).

    ``\\*`` is a literal star and ``\\\\`` a literal backslash; any other escape, and two
    consecutive wildcards, raise ValueError.
    """
    segments: list[str] = []
    buf: list[str] = []
    previous_was_star = False
    i = 0
    n = len(text)
    while i < n:
        char = text[i]
        if char == "\\":
            if i + 1 < n and text[i + 1] in "*\\":
                buf.append(text[i + 1])
                previous_was_star = False
                i += 2
                continue
            raise ValueError(f"invalid escape at position {i}: only \\* and \\\\ may be escaped")
        if char == "*":
            if previous_was_star:
                raise ValueError(f"consecutive wildcard characters at position {i}")
            segments.append("".join(buf))
            buf = []
            previous_was_star = True
        else:
            buf.append(char)
            previous_was_star = False
        i += 1
    segments.append("".join(buf))
    return tuple(segments)


def _glob(value: str, segments: tuple[str, ...]) -> bool:
    if len(segments) == 1:
        return value == segments[0]
    first = segments[0]
    last = segments[-1]
    if len(value) < len(first) + len(last):
        return False
    if not value.startswith(first) or not value.endswith(last):
        return False
    # With only "*" wildcards, taking the leftmost occurrence of each middle segment
    # never loses a match.
    pos = len(first)
    end = len(value) - len(last)
    for segment in segments[1:-1]:
        found = value.find(segment, pos, end)
        if found < 0:
            return False
        pos = found + len(segment)
    return True


class Matcher:
    """Base class. ``kind`` says which values can ever match without negation:
    ``"str"``, ``"num"``, ``"lit"`` (true/false/null) or ``"any"``."""

    __slots__ = ()
    operator: ClassVar[str]
    kind: ClassVar[str]

    def matches(self, value: object) -> bool:
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class ExactString(Matcher):
    value: str
    operator: ClassVar[str] = "equals"
    kind: ClassVar[str] = "str"

    def matches(self, value: object) -> bool:
        return type(value) is str and value == self.value


@dataclass(frozen=True, slots=True)
class ExactNumber(Matcher):
    """A number literal in a match list, or ``{"numeric": ["=", n]}``."""

    value: float
    operator: ClassVar[str] = "equals"
    kind: ClassVar[str] = "num"

    def matches(self, value: object) -> bool:
        return to_number(value) == self.value


@dataclass(frozen=True, slots=True)
class ExactLiteral(Matcher):
    """``true``, ``false`` or ``null`` in a match list."""

    value: bool | None
    operator: ClassVar[str] = "equals"
    kind: ClassVar[str] = "lit"

    def matches(self, value: object) -> bool:
        return value is self.value


@dataclass(frozen=True, slots=True)
class IpExact(Matcher):
    """A string literal that is an IP address: matches any spelling of that address."""

    version: int
    address: int
    operator: ClassVar[str] = "equals"
    kind: ClassVar[str] = "str"

    def matches(self, value: object) -> bool:
        return type(value) is str and parse_ip(value) == (self.version, self.address)


@dataclass(frozen=True, slots=True)
class Prefix(Matcher):
    value: str
    operator: ClassVar[str] = "prefix"
    kind: ClassVar[str] = "str"

    def matches(self, value: object) -> bool:
        return type(value) is str and value.startswith(self.value)


@dataclass(frozen=True, slots=True)
class PrefixIgnoreCase(Matcher):
    value: str  # already folded
    operator: ClassVar[str] = "prefix"
    kind: ClassVar[str] = "str"

    def matches(self, value: object) -> bool:
        return type(value) is str and fold(value).startswith(self.value)


@dataclass(frozen=True, slots=True)
class Suffix(Matcher):
    value: str
    operator: ClassVar[str] = "suffix"
    kind: ClassVar[str] = "str"

    def matches(self, value: object) -> bool:
        return type(value) is str and value.endswith(self.value)


@dataclass(frozen=True, slots=True)
class SuffixIgnoreCase(Matcher):
    value: str  # already folded
    operator: ClassVar[str] = "suffix"
    kind: ClassVar[str] = "str"

    def matches(self, value: object) -> bool:
        return type(value) is str and fold(value).endswith(self.value)


@dataclass(frozen=True, slots=True)
class EqualsIgnoreCase(Matcher):
    value: str  # already folded
    operator: ClassVar[str] = "equals-ignore-case"
    kind: ClassVar[str] = "str"

    def matches(self, value: object) -> bool:
        return type(value) is str and fold(value) == self.value


@dataclass(frozen=True, slots=True)
class Wildcard(Matcher):
    pattern: str
    segments: tuple[str, ...] = field(compare=False, repr=False, default=())
    operator: ClassVar[str] = "wildcard"
    kind: ClassVar[str] = "str"

    def __post_init__(self) -> None:
        if not self.segments:
            object.__setattr__(self, "segments", parse_wildcard(self.pattern))

    @classmethod
    def compile(cls, pattern: str) -> Wildcard:
        """Validate ``pattern`` (ValueError if malformed) and build the matcher."""
        return cls(pattern)

    @property
    def literal_prefix(self) -> str:
        return self.segments[0]

    @property
    def literal_suffix(self) -> str:
        return self.segments[-1] if len(self.segments) > 1 else ""

    def matches(self, value: object) -> bool:
        return type(value) is str and _glob(value, self.segments)


@dataclass(frozen=True, slots=True)
class NumericRange(Matcher):
    """``lo < x`` (``lo_open``) or ``lo <= x``, and the same for ``hi``; ±inf when open-ended."""

    lo: float
    lo_open: bool
    hi: float
    hi_open: bool
    operator: ClassVar[str] = "numeric"
    kind: ClassVar[str] = "num"

    def contains(self, x: float) -> bool:
        if x < self.lo or (self.lo_open and x == self.lo):
            return False
        return not (x > self.hi or (self.hi_open and x == self.hi))

    def matches(self, value: object) -> bool:
        x = to_number(value)
        return x is not None and self.contains(x)


@dataclass(frozen=True, slots=True)
class Cidr(Matcher):
    version: int
    first: int
    last: int
    operator: ClassVar[str] = "cidr"
    kind: ClassVar[str] = "str"

    def matches(self, value: object) -> bool:
        if type(value) is not str:
            return False
        parsed = parse_ip(value)
        return (
            parsed is not None
            and parsed[0] == self.version
            and self.first <= parsed[1] <= self.last
        )


@dataclass(frozen=True, slots=True)
class Exists(Matcher):
    """``{"exists": true}``: any leaf value, null included. (``false`` is not a matcher:
    it is the ``absent_ok`` flag of a step.)"""

    operator: ClassVar[str] = "exists"
    kind: ClassVar[str] = "any"

    def matches(self, value: object) -> bool:
        return True


@dataclass(frozen=True, slots=True)
class AnythingBut(Matcher):
    """``{"anything-but": "x" | n | [...]}``: one of the two sets is empty."""

    strings: frozenset[str]
    numbers: frozenset[float]
    operator: ClassVar[str] = "anything-but"
    kind: ClassVar[str] = "any"

    def matches(self, value: object) -> bool:
        if type(value) is str:
            return value not in self.strings
        x = to_number(value)
        return x is None or x not in self.numbers


@dataclass(frozen=True, slots=True)
class AnythingButPrefix(Matcher):
    values: tuple[str, ...]
    operator: ClassVar[str] = "anything-but"
    kind: ClassVar[str] = "any"

    def matches(self, value: object) -> bool:
        return type(value) is not str or not value.startswith(self.values)


@dataclass(frozen=True, slots=True)
class AnythingButSuffix(Matcher):
    values: tuple[str, ...]
    operator: ClassVar[str] = "anything-but"
    kind: ClassVar[str] = "any"

    def matches(self, value: object) -> bool:
        return type(value) is not str or not value.endswith(self.values)


@dataclass(frozen=True, slots=True)
class AnythingButIgnoreCase(Matcher):
    values: frozenset[str]  # already folded
    operator: ClassVar[str] = "anything-but"
    kind: ClassVar[str] = "any"

    def matches(self, value: object) -> bool:
        return type(value) is not str or fold(value) not in self.values


@dataclass(frozen=True, slots=True)
class AnythingButWildcard(Matcher):
    wildcards: tuple[Wildcard, ...]
    operator: ClassVar[str] = "anything-but"
    kind: ClassVar[str] = "any"

    def matches(self, value: object) -> bool:
        if type(value) is not str:
            return True
        return not any(_glob(value, w.segments) for w in self.wildcards)


EXISTS = Exists()
