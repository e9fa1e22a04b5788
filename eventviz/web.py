"""Daphne as EventViz runs it: ``python -m eventviz.web`` takes Daphne's arguments.

One difference from plain ``daphne``: a websocket that breaks the protocol's limits (a
message over ``--websocket-max-message-size``) is closed with a close frame — code 1009
and the reason — instead of having its TCP connection dropped. Autobahn, under Daphne,
drops by default (``failByDrop``), so a browser saw only "closed abnormally" (1006).
"""

from __future__ import annotations

from daphne.cli import CommandLineInterface
from daphne.server import Server


class EventVizServer(Server):
    def run(self) -> None:
        # Imported here: daphne.server installs its asyncio reactor on import, and
        # importing the reactor before that would install Twisted's default one.
        from twisted.internet import reactor

        # The websocket factory is made inside Server.run, just before the reactor
        # starts; protocols copy its options when a connection is made.
        reactor.callWhenRunning(self._close_instead_of_drop)
        super().run()

    def _close_instead_of_drop(self) -> None:
        self.ws_factory.setProtocolOptions(failByDrop=False)


class EventVizCommandLine(CommandLineInterface):
    server_class = EventVizServer


if __name__ == "__main__":
    EventVizCommandLine.entrypoint()
