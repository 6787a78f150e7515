"""Times panoramisk's AMI parser on the stream `tamas-agent ami bench --write-stream FILE` writes.

Usage: python3 panoramisk_bench.py FILE
Feeds the file in 64 KiB chunks (what a socket delivers) through panoramisk's
AMIProtocol.data_received, which splits messages and builds a Message per message, and
dispatches events to a counting factory. That is panoramisk's framing; it does no call
tracking, so compare it with the "framing, every message built" figure of `ami bench`.
`tamas-agent ami bench --compare-python` runs this script and parses its result line.
"""
import sys
import time

from panoramisk.ami_protocol import AMIProtocol

CHUNK_BYTES = 65536


def read_chunks(path):
    with open(path, "rb") as stream:
        data = stream.read()
    return [data[i:i + CHUNK_BYTES] for i in range(0, len(data), CHUNK_BYTES)]


class Stopwatch:
    """Wall time and this thread's CPU time (which leaves out the time other processes of a
    shared machine held the core), as `ami bench` measures its own stages."""

    def __enter__(self):
        self.wall = time.perf_counter()
        self.cpu = time.thread_time()
        return self

    def __exit__(self, *_):
        self.wall = time.perf_counter() - self.wall
        self.cpu = time.thread_time() - self.cpu


def print_result(label, messages, stopwatch):
    """The line `ami bench --compare-python` parses: keep its shape."""
    print(f"{label}: {messages} AMI messages in {stopwatch.wall:.3f} s ({stopwatch.cpu:.3f} s CPU) = "
          f"{int(messages / stopwatch.wall)} AMI messages/s, {int(messages / stopwatch.cpu)} per CPU second")


class NoTransport:
    """panoramisk writes actions to the transport; a replayed stream sends none."""

    def write(self, data):
        pass


class CountingFactory:
    def __init__(self):
        self.events = 0

    def dispatch(self, message):
        self.events += 1


def main(path):
    chunks = read_chunks(path)
    protocol = AMIProtocol()
    protocol.connection_made(NoTransport())
    protocol.factory = CountingFactory()
    with Stopwatch() as stopwatch:
        for chunk in chunks:
            protocol.data_received(chunk)
    print_result("panoramisk framing", protocol.factory.events, stopwatch)


if __name__ == "__main__":
    main(sys.argv[1])
