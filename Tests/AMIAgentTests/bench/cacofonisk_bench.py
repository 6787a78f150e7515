"""Times panoramisk framing + cacofonisk call tracking on the stream `tamas-agent ami bench --write-stream FILE` writes.

Usage: python3 cacofonisk_bench.py FILE
Wires the two libraries as cacofonisk's AmiRunner does for a live Asterisk, minus the socket:
the 64 KiB chunks go into panoramisk's AMIProtocol.data_received, whose factory is a panoramisk
Manager with cacofonisk's event names registered (AmiRunner.attach), and each registered event
goes to cacofonisk's EventHandler.on_event (AmiRunner.on_event), which reports calls to a
counting reporter. Compare it with the "framing + call tracking" figure of `ami bench`.
`tamas-agent ami bench --compare-python` runs this script and parses its result lines.
"""
import logging
import sys

from cacofonisk import BaseReporter, EventHandler
from panoramisk import Manager
from panoramisk.ami_protocol import AMIProtocol

from panoramisk_bench import NoTransport, Stopwatch, print_result, read_chunks


class CountingReporter(BaseReporter):
    def __init__(self):
        self.ringing = 0
        self.answered = 0
        self.ended = 0
        self.transfers = 0

    def on_b_dial(self, caller, targets):
        self.ringing += 1

    def on_up(self, caller, target):
        self.answered += 1

    def on_hangup(self, caller, reason):
        self.ended += 1

    def on_attended_transfer(self, caller, transferer, target):
        self.transfers += 1

    def on_blonde_transfer(self, caller, transferer, targets):
        self.transfers += 1

    def on_blind_transfer(self, caller, transferer, targets):
        self.transfers += 1


class CountingLogHandler(logging.Handler):
    """Counts cacofonisk's warnings (events naming a channel or bridge it never saw created)
    instead of printing them, so the terminal is not part of the timing."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.warnings = 0

    def emit(self, record):
        self.warnings += 1


def main(path):
    chunks = read_chunks(path)
    # Counted before the clock starts: the Manager only hands over the events cacofonisk registered,
    # so the rate counts the messages of the file, as panoramisk_bench.py does.
    message_count = b"".join(chunks).count(b"\r\n\r\n")
    log_handler = CountingLogHandler()
    logger = logging.getLogger("cacofonisk_bench")
    logger.propagate = False
    logger.addHandler(log_handler)

    reporter = CountingReporter()
    event_handler = EventHandler(reporter=reporter, hostname="bench", logger=logger)
    manager = Manager(log=logger)
    for event_name in event_handler.event_handlers():
        manager.register_event(event_name, lambda _manager, event: event_handler.on_event(event))
    protocol = AMIProtocol()
    protocol.connection_made(NoTransport())
    protocol.factory = manager

    with Stopwatch() as stopwatch:
        for chunk in chunks:
            protocol.data_received(chunk)
    print_result("panoramisk + cacofonisk call tracking", message_count, stopwatch)
    print(f"cacofonisk calls: {reporter.ended} ended, {reporter.ringing} ringing, {reporter.answered} answered, "
          f"{reporter.transfers} transferred, {log_handler.warnings} warnings")
    if reporter.ended == 0:
        sys.exit("cacofonisk tracked no call: the stream or the wiring is wrong")


if __name__ == "__main__":
    main(sys.argv[1])
