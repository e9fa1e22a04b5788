"""The report of an import: per resource, what became of it; then what changed."""

from __future__ import annotations

from dataclasses import dataclass, field

from flows.models import Topology

IMPORTED = "imported"
NOT_MODELLED = "not modelled"
REFUSED = "refused"
UNRESOLVED = "unresolved"
INFERRED = "inferred"


@dataclass
class Entry:
    status: str  # one of the constants above
    source: str  # a logical id, a channel address, ...
    kind: str  # the resource type (AWS::SQS::Queue) or document part (channel)
    detail: str  # imported as what, or why not


@dataclass
class ImportReport:
    origin: str
    entries: list[Entry] = field(default_factory=list)
    changes: list[str] = field(default_factory=list)
    topology: Topology | None = None
    created: bool = False
    error: str = ""  # why nothing could be imported

    def add(self, status: str, source: str, kind: str, detail: str) -> None:
        self.entries.append(Entry(status, source, kind, detail))

    @property
    def ok(self) -> bool:
        return self.topology is not None

    def of(self, status: str) -> list[Entry]:
        return [e for e in self.entries if e.status == status]

    def text(self) -> str:
        out: list[str] = []
        if self.topology is not None:
            verb = "created" if self.created else "updated"
            out.append(f"{self.origin}: {verb} topology {self.topology.slug!r}")
        else:
            out.append(
                f"{self.origin}: nothing imported" + (f": {self.error}" if self.error else "")
            )
        for status in (IMPORTED, INFERRED, NOT_MODELLED, UNRESOLVED, REFUSED):
            entries = self.of(status)
            if not entries:
                continue
            out.append(f"\n{status} ({len(entries)}):")
            for e in entries:
                out.append(f"  {e.source} ({e.kind}): {e.detail}")
        if self.topology is not None:
            out.append(f"\nchanges ({len(self.changes)}):")
            out.extend(f"  {line}" for line in self.changes or ["none: already up to date"])
        return "\n".join(out) + "\n"
