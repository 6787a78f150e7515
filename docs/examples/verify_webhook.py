#!/usr/bin/env python3
"""Verify a Tamas webhook request (docs/webhook.md) with the Python 3 standard library only.

Use verify() inside your receiver. Run as a script to check a saved request:

    TAMAS_WEBHOOK_SECRET=... python3 verify_webhook.py \
        --timestamp "$X_TAMAS_TIMESTAMP" --signature "$X_TAMAS_SIGNATURE" < body.json

Exit status 0: valid; 1: invalid or outside the replay window; 2: usage error.
"""
import argparse
import hashlib
import hmac
import os
import sys
import time

REPLAY_WINDOW_SECONDS = 300


def verify(secret, timestamp, body, signature, now=None, window=REPLAY_WINDOW_SECONDS):
    """True when `signature` (the X-Tamas-Signature header) is HMAC-SHA256 with `secret` over
    b"<timestamp>." + body, and `timestamp` (X-Tamas-Timestamp) is within `window` seconds of now.

    secret: bytes; timestamp: str exactly as received; body: the raw request bytes, unparsed.
    """
    if not timestamp.isdigit():
        return False
    now = int(time.time()) if now is None else now
    if abs(now - int(timestamp)) > window:
        return False
    expected = "sha256=" + hmac.new(secret, timestamp.encode("ascii") + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature)


def main():
    parser = argparse.ArgumentParser(description="Verify a Tamas webhook signature; the body is read from stdin.")
    parser.add_argument("--timestamp", required=True, help="the X-Tamas-Timestamp header")
    parser.add_argument("--signature", required=True, help="the X-Tamas-Signature header")
    parser.add_argument("--now", type=int, help="unix seconds to check the replay window against (default: the clock)")
    args = parser.parse_args()
    secret = os.environ.get("TAMAS_WEBHOOK_SECRET")
    if not secret:
        print("set TAMAS_WEBHOOK_SECRET", file=sys.stderr)
        return 2
    body = sys.stdin.buffer.read()
    if verify(secret.encode("utf-8"), args.timestamp, body, args.signature, now=args.now):
        print("valid")
        return 0
    print("invalid")
    return 1


if __name__ == "__main__":
    sys.exit(main())
