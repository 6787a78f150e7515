#!/usr/bin/env python3
"""Writes the seed corpora, OUT/<Target>/, from the shared fixtures and the tests' own data.

usage: make_seeds.py REPOSITORY FIXTURES OUT

Each seed starts with the header bytes its harness reads (settings and chunking seed, see
Sources/FuzzHarness and docs/fuzzing.md), so the fuzzer starts from inputs that already reach
deep into the decoders under several settings.
"""
import glob
import hashlib
import json
import os
import re
import struct
import sys

repository, fixtures, out = sys.argv[1:4]
tests = os.path.join(repository, "Tests")


def put(target, data):
    folder = os.path.join(out, target)
    os.makedirs(folder, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(folder, hashlib.sha1(data).hexdigest()[:16]), "wb") as f:
        f.write(data)


def fixture_lines(path):
    """The fixture files' '#' lines are provenance notes, not wire data."""
    return [line.rstrip("\r\n") for line in open(path, encoding="utf-8", errors="replace") if not line.startswith("#")]


def string_literals(pattern, paths):
    for path in paths:
        found = re.findall(pattern, open(path, encoding="utf-8").read())
        if found:
            yield found


# SMDR: model index, flags (date order, zone, number plan, short windows), chunk seed, lines.
smdr_line_sets = [[line for line in fixture_lines(p) if line.strip()] for p in glob.glob(fixtures + "/smdr/*.txt")]
smdr_line_sets += string_literals(r'"(\d{1,4}/\d{1,2}/\d{1,4}[^"\\]*)"',
                                  glob.glob(tests + "/SMDRTests/*.swift") + glob.glob(tests + "/SMDRAgentTests/*.swift"))
for lines in smdr_line_sets:
    for start in range(0, len(lines), 40):
        text = ("\r\n".join(lines[start:start + 40]) + "\r\n").encode()
        for header in ([0, 0, 1], [1, 0x81, 2], [8, 0x0A, 3], [14, 0x45, 4]):
            put("SMDR", bytes(header) + text)
# 0xFF in byte 0 selects the password login state machine.
put("SMDR", b"\xff\x01\x00\r-SMDR\r\nEnter Password:*******\r\n07/12/20 11:00    401 05 <I>234               00:00'12 EU00000.00               \r\n")
put("SMDR", b"\xff\x02\x01-Enter Password:smdr\r\nwrong\r\n")

# AMI: f0 (bit 0 = client state machine instead of the bare event stream), f1, chunk seed, wire text.
ami_texts = []
for path in glob.glob(fixtures + "/ami/*.txt"):
    raw = "".join(line for line in open(path, encoding="utf-8", errors="replace").read().splitlines(True)
                  if not line.startswith("#"))
    if raw.lstrip().startswith("["):  # cacofonisk's JSON captures: one object per AMI message
        try:
            messages = json.loads(raw)
        except ValueError:
            continue
        ami_texts.append("".join(
            "".join(f"{key}: {value}\r\n" for key, value in message.items() if key != "content") + "\r\n"
            for message in messages))
    else:
        ami_texts.append(raw.replace("\r\n", "\n").replace("\n", "\r\n"))
for path in glob.glob(tests + "/AMITests/Golden/streams/*.ami"):
    text = open(path, encoding="utf-8").read()
    ami_texts += [text.replace("\n", "\r\n"), text]
banner = "Asterisk Call Manager/2.10.6\r\n"
login_accepted = "Response: Success\r\nActionID: tamas-1-1\r\nMessage: Authentication accepted\r\n\r\n"
for text in ami_texts:
    wire = text.encode()[:60000]
    put("AMI", bytes([0, 0, 1]) + banner.encode() + wire)
    put("AMI", bytes([0x0A, 0x13, 2]) + wire)
    put("AMI", bytes([1, 0, 3]) + (banner + login_accepted).encode() + wire)
put("AMI", bytes([0x11, 0, 1]) + b"Asterisk Call Manager/1.0\r\nResponse: Success\r\nActionID: tamas-1-1\r\n"
    b"Challenge: 12345\r\n\r\nResponse: Success\r\nActionID: tamas-1-2\r\n\r\n")
put("AMI", bytes([1, 0, 1]) + (banner + "Response: Error\r\nActionID: tamas-1-1\r\nMessage: Authentication failed\r\n\r\n").encode())

# Caller ID: f0 (bits 0-1 protocol, 0x40 = saved open calls instead of a serial stream), chunk seed, bytes.
protocol_by_prefix = {"segal": 0, "techno": 1, "modem": 2, "fsk": 2, "netcallerid": 2}
for path in glob.glob(fixtures + "/callerid/*.txt"):
    name = os.path.basename(path)
    protocol = next(value for prefix, value in protocol_by_prefix.items() if name.startswith(prefix))
    text = ("\r\n".join(fixture_lines(path)) + "\r\n").encode()
    for flags in (0, 0x08, 0x30):
        put("CallerID", bytes([protocol | flags, 1]) + text)
    if protocol != 2:  # the other line-based framing, to reach its error paths
        put("CallerID", bytes([1 - protocol, 2]) + text)
for literals in string_literals(r'"((?:L\d|RING|DATE|TIME|NMBR|NAME)[^"]*)"', glob.glob(tests + "/CallerIDTests/*.swift")):
    text = "".join(literal.replace("\\r", "\r").replace("\\n", "\n") + "\r\n" for literal in literals).encode()
    put("CallerID", bytes([0, 3]) + text)
    put("CallerID", bytes([2, 3]) + text)
put("CallerID", bytes([0x40, 0]) + b"callerid-open-calls/1 segal 3\n0 1800000000000 0 L1C09191714505@\n"
    b"1 1800000001000 0 L1R01@\n2 1800000002000 12600 L1HF@")
put("CallerID", bytes([0x42, 0]) + b"callerid-open-calls/1 modem 2\n0 1800000000000 0 RING\n1 1800000001000 0 NMBR = 9495551212")

# Telsa: zone and mode bits, then the tail of a recording file (its text trailer).
trailer = ("\r\n".join(line for line in fixture_lines(fixtures + "/telsa/telsa64_trailer_sample.txt") if line.strip()) + "\r\n").encode()
for flags in (0, 1, 4, 5):
    put("Telsa", bytes([flags]) + trailer)
    put("Telsa", bytes([flags]) + b"RIFF\x00\x01\x02\xffdata" + trailer)

# JSON: mode (JSONL decoder, CallEvent JSON, CallRecord JSON, timestamps and numbers), chunk seed, body.
golden_jsonl = sorted(glob.glob(tests + "/**/*.jsonl", recursive=True))
for path in golden_jsonl[:20]:
    data = open(path, "rb").read()[:20000]
    put("JSON", bytes([0, 1]) + data)
    put("JSON", bytes([1, 1]) + data)
put("JSON", bytes([2, 0]) + b'{"systemKey":"s","callId":"c","source":"smdr","phase":"ended","direction":"inbound",'
    b'"from":"+982112345678","startedAt":"2026-01-01T10:00:00+03:30","ringSec":3,"extensions":["201"],'
    b'"recording":{"ref":"x","format":"wav"}}')
for text in ["2026-01-01T10:00:00.123+03:30", "2026-02-29T23:59:60Z", "09121234567", "+98 21 1234 5678",
             "0098211234567", "9011442071234567", "sip:201@pbx"]:
    put("JSON", bytes([3, 0]) + text.encode())


# Link: chunk seed, flags (bits 0-1 frame limit, bits 2-3 chunk size), then frames
# (4-byte big-endian length of kind + payload, 1-byte kind, payload).
def frame(kind, payload):
    return struct.pack(">IB", len(payload) + 1, kind) + payload


def compact(value):
    return json.dumps(value, separators=(",", ":")).encode()


def batch(first, events):
    return frame(0x10, struct.pack(">QI", first, len(events)) + b"".join(struct.pack(">I", len(e)) + e for e in events))


def data_chunk(command_id, offset, is_last, body):
    name = command_id.encode()
    return frame(0x32, struct.pack(">H", len(name)) + name + struct.pack(">QB", offset, is_last) + body)


events = [line for path in golden_jsonl for line in open(path, "rb").read().split(b"\n") if line.startswith(b'{"at"')][:12]
events = events or [b'{"at":"2025-11-26T13:10:03+03:30","callId":"x","eventId":"y","schema":1,"source":"ami",'
                    b'"systemKey":"office","type":"call.ringing"}']
spool = {"backlog": 3, "capacity": 100000, "state": "ok", "oldestAt": "2025-11-26T13:10:03+03:30"}
hello = {"protocolVersion": 1, "agentId": "a1", "secret": "s3cret", "kind": "ami", "version": "1.2.0",
         "systemKeys": ["office"], "spoolId": "sp-1", "spool": spool, "host": "pbx1",
         "commands": ["originate", "spy", "fetch-recording"]}
welcome = {"protocolVersion": 1, "collectorVersion": "1.0", "agentName": "pbx", "committedThrough": 41,
           "systemKeys": ["office"], "heartbeatSeconds": 15, "maxFrameBytes": 8388608}
heartbeat = {"spool": spool, "deviceState": "connected", "lastInputAt": "2025-11-26T13:10:03.250+03:30"}
link_streams = [
    frame(1, compact(hello)),
    frame(1, compact({k: v for k, v in hello.items() if k not in ("host", "commands")})),
    frame(2, compact(welcome)),
    frame(3, compact({"reason": "bad secret", "permanent": True})),
    frame(1, compact(hello)) + batch(42, events[:3]) + frame(0x20, compact(heartbeat))
    + frame(0x31, compact({"id": "c1", "ok": True, "output": "done"})) + data_chunk("c1", 0, 0, b"RIFF....WAVE")
    + data_chunk("c1", 12, 1, b"") + frame(0x90, b"ext") + batch(45, events[3:]),
    batch(1, events),
    batch(7, events[:1]),
    batch(2**62, events[:2]),
    frame(0x11, struct.pack(">Q", 99)),
    frame(0x20, b"{}"),
    frame(0x30, compact({"id": "c1", "name": "originate", "arguments": {"from": "201", "to": "09121234567"}})),
    frame(0x31, compact({"id": "c1", "ok": False, "error": "busy"})),
    data_chunk("fetch-7", 65536, 1, bytes(range(64))),
    frame(0x80, b"") + frame(0xFF, b"xx") + frame(0x20, b"{}"),  # unknown kinds the decoder must skip
]
for stream in link_streams:
    for flags in (0x00, 0x04, 0x08):
        put("Link", bytes([7, flags]) + stream)

print(" ".join(f"{target}={len(os.listdir(os.path.join(out, target)))}" for target in sorted(os.listdir(out))))
