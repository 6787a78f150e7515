"""Times panoramisk's AMI parser on the stream `tamas-agent ami bench --write-stream FILE` writes.

Usage: python3 panoramisk_bench.py FILE
Feeds the file in 64 KiB chunks (what a socket delivers) through panoramisk's
AMIProtocol.data_received, which splits messages and builds a Message per message, and
dispatches events to a counting factory. That is panoramisk's framing; it does no call
tracking, so compare it with the "framing alone" figure of `ami bench`.
"""
import sys
import time

from panoramisk.ami_protocol import AMIProtocol


class CountingFactory:
    def __init__(self):
        self.events = 0

    def dispatch(self, message):
        self.events += 1


class NoTransport:
    def write(self, data):
        pass


def main(path):
    with open(path, "rb") as stream:
        data = stream.read()
    chunks = [data[i:i + 65536] for i in range(0, len(data), 65536)]
    protocol = AMIProtocol()
    protocol.connection_made(NoTransport())
    protocol.factory = CountingFactory()
    start = time.perf_counter()
    for chunk in chunks:
        protocol.data_received(chunk)
    elapsed = time.perf_counter() - start
    count = protocol.factory.events
    print(f"panoramisk framing: {count} AMI messages in {elapsed:.2f} s = {int(count / elapsed)} AMI messages/s")


if __name__ == "__main__":
    main(sys.argv[1])
