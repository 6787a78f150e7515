#!/usr/bin/env python3
"""Finds the functions a starting agent runs, for deploy/tamas-agent.order (lld's
--symbol-ordering-file). Used by deploy/make-agent-order.sh; see docs/performance.md.

  agent-order.py callgrind OUT BINARY        functions whose instructions callgrind counted
  agent-order.py faults PERF_DATA BINARY     functions whose pages faulted in a native run
  agent-order.py merge ORDER NAMES...        ORDER followed by the names it lacks

Callgrind sees every instruction but runs on a simulated CPU, so code chosen by CPU features
(BoringSSL's AVX-512 and ADX paths) is missed; the page faults of a native run, taken after
linking with callgrind's list, name what is still outside. Addresses are turned into names with
nm, which lists the symbols the linker orders by.
"""
import bisect
import os
import re
import subprocess
import sys


def text_symbols(binary):
    """(address, size, name) of every function defined in the binary, by address."""
    listing = subprocess.run(["nm", "-S", "--defined-only", binary], check=True, capture_output=True, text=True).stdout
    symbols = []
    for line in listing.splitlines():
        fields = line.split()
        if len(fields) == 4 and fields[2] in "tTwW":
            symbols.append((int(fields[0], 16), max(int(fields[1], 16), 1), fields[3]))
    symbols.sort()
    return symbols


class FunctionFinder:
    def __init__(self, binary):
        self.symbols = text_symbols(binary)
        self.starts = [address for address, _, _ in self.symbols]

    def name_at(self, address):
        index = bisect.bisect_right(self.starts, address) - 1
        if index < 0:
            return None
        start, size, name = self.symbols[index]
        return name if address < start + size else None


def callgrind_addresses(path, binary):
    """Instruction addresses inside BINARY from a callgrind file written with --dump-instr=yes,
    in the order the file first names them. Positions may be absolute, relative (+N, -N) or
    repeated (*); see callgrind's file format."""
    objects = {}
    current_object = None
    function_object = None
    last = 0
    ordered = {}
    target = os.path.basename(binary)
    for line in open(path, encoding="utf-8", errors="replace"):
        if line.startswith(("ob=", "cob=")):
            # A name is given once, where its number first appears, which may be a call's cob=.
            match = re.match(r"c?ob=\((\d+)\)(?: (.*))?", line.rstrip("\n"))
            if match:
                if match.group(2):
                    objects[match.group(1)] = match.group(2)
                if line.startswith("ob="):
                    current_object = objects.get(match.group(1))
            continue
        if line.startswith("fn="):
            function_object = current_object
            continue
        if not line or line[0] not in "0123456789+-*":
            continue
        position = line.split()[0]
        if position.startswith("0x"):
            last = int(position, 16)
        elif position[0] in "+-":
            delta = int(position[1:], 0)
            last = last + delta if position[0] == "+" else last - delta
        elif position != "*":
            continue
        if function_object and os.path.basename(function_object) == target:
            ordered.setdefault(last, None)
    return list(ordered)


def fault_addresses(perf_data, binary):
    """Addresses in BINARY's mapping that page-faulted, from `perf record -e page-faults -d`."""
    script = subprocess.run(["perf", "script", "-i", perf_data, "--show-mmap-events", "-F", "addr"],
                            check=True, capture_output=True, text=True).stdout
    base = None
    addresses = []
    target = os.path.realpath(binary)
    for line in script.splitlines():
        if "PERF_RECORD_MMAP" in line:
            match = re.search(r"\[(0x[0-9a-f]+)\(0x[0-9a-f]+\) @ (0x[0-9a-f]+|0) ", line)
            if match and line.rstrip().endswith(target) and int(match.group(2), 16) == 0 and base is None:
                base = int(match.group(1), 16)
            continue
        text = line.strip()
        if text and base is not None:
            try:
                addresses.append(int(text, 16) - base)
            except ValueError:
                pass
    return addresses


def names(addresses, binary):
    finder = FunctionFinder(binary)
    seen = {}
    for address in addresses:
        name = finder.name_at(address)
        if name:
            seen.setdefault(name, None)
    return list(seen)


def main(arguments):
    if len(arguments) >= 3 and arguments[0] == "callgrind":
        print("\n".join(names(callgrind_addresses(arguments[1], arguments[2]), arguments[2])))
    elif len(arguments) >= 3 and arguments[0] == "faults":
        print("\n".join(names(fault_addresses(arguments[1], arguments[2]), arguments[2])))
    elif len(arguments) >= 2 and arguments[0] == "merge":
        ordered = {}
        for path in arguments[1:]:
            for line in open(path, encoding="utf-8"):
                name = line.split("#", 1)[0].strip()
                if name:
                    ordered.setdefault(name, None)
        print("\n".join(ordered))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
