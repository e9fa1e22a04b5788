"""Every Redis key EventViz uses, named here and spelled nowhere else.

Live state of one run lives under ``ev:run:<id>:`` (see ``RunKeys``); a few keys are
global. The key layout is a contract between the engine, the driver, the services that
queue commands and the tests that inspect live state (docs/contracts.md).
"""

from __future__ import annotations

ACTIVE_RUNS = "ev:runs:active"  # hash: run id -> topology id, of every running run


def config_version(topology_id: int) -> str:
    """Bumped on every edit of the topology: running simulations reload it."""
    return f"ev:topology:{topology_id}:version"


def api_nodes(topology_id: int) -> str:
    """hash: API producer/consumer node id -> its label (flows.dataplane registers them)."""
    return f"ev:topology:{topology_id}:api:nodes"


def api_edges(topology_id: int) -> str:
    """hash: API edge id -> JSON {source, target} (an API producer -> a channel, ...)."""
    return f"ev:topology:{topology_id}:api:edges"


def run_prefix(run_id: int) -> str:
    return f"ev:run:{run_id}:"


def run_pattern(run_id: int) -> str:
    """A SCAN pattern that matches every key of one run."""
    return run_prefix(run_id) + "*"


class RunKeys:
    """The keys of one run's live state.

    Fixed keys are attributes; keys per channel, consumer or producer are methods.
    """

    __slots__ = (
        "counters",
        "deliveries",
        "dseq",
        "external",
        "hops",
        "inbox",
        "kick",
        "lease",
        "prefix",
        "push",
        "receipts",
        "run_id",
        "script",
        "seq",
        "started",
        "stop",
    )

    def __init__(self, run_id: int) -> None:
        self.run_id = run_id
        k = self.prefix = run_prefix(run_id)
        self.seq = k + "seq"  # last hop seq committed
        self.dseq = k + "dseq"  # last delivery id handed out
        self.started = k + "started"  # Redis time (ms) of the first tick
        self.script = k + "script"  # set: indexes of script steps done
        self.lease = k + "lease"  # the driving worker's token (SET NX PX)
        self.kick = k + "kick"  # the watchdog kicked this run (one kick per lease period)
        self.stop = k + "stop"  # present once the run was stopped
        self.counters = k + "cnt"  # hash: totals and "<node>|<stat>" counters
        self.hops = k + "hops"  # stream: committed hop batches not yet handed on
        self.deliveries = k + "dlv"  # hash: live delivery id -> delivery record
        self.push = k + "push"  # zset: deliveries to push to a consumer, by due time
        self.inbox = k + "inbox"  # list: commands from outside (publish, redrive, replay)
        # Bumped by every change the AWS API makes to queue state (receive, delete, ...):
        # an engine phase that read queue state commits only if it did not move meanwhile.
        self.external = k + "ext"
        self.receipts = k + "rcpt"  # hash: delivery id -> its current receipt (external receive)

    def ready(self, queue_id: int) -> str:
        """zset: a queue's visible messages, by the time they became visible."""
        return f"{self.prefix}ready:{queue_id}"

    def inflight(self, queue_id: int) -> str:
        """zset: a queue's received messages, by visibility deadline."""
        return f"{self.prefix}inflight:{queue_id}"

    def fifo(self, queue_id: int) -> str:
        """hash: message group -> the delivery holding it (FIFO queues)."""
        return f"{self.prefix}fifo:{queue_id}"

    def parked(self, queue_id: int) -> str:
        """list: delivery records parked in a dead-letter queue."""
        return f"{self.prefix}parked:{queue_id}"

    def busy(self, consumer_id: int) -> str:
        """zset: deliveries a consumer is processing, by the time processing ends."""
        return f"{self.prefix}busy:{consumer_id}"

    def seen(self, consumer_id: int) -> str:
        """set: message ids a consumer processed (duplicates are flagged)."""
        return f"{self.prefix}seen:{consumer_id}"

    def archive(self, bus_id: int) -> str:
        """zset: a bus's archived events, by time."""
        return f"{self.prefix}archive:{bus_id}"

    def dedup(self, queue_id: int, dedup_id: str) -> str:
        """A FIFO queue's deduplication id, remembered for five minutes (its message id)."""
        return f"{self.prefix}dedup:{queue_id}:{dedup_id}"

    def producer(self, producer_id: int) -> str:
        """hash: a producer's position (n, next_at, burst_at)."""
        return f"{self.prefix}prod:{producer_id}"
