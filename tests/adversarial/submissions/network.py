"""Tries the network: a TCP connection to a listener the test opened on the host's loopback, and a DNS lookup.

Correct when every attempt fails (Accepted); a wrong answer if any succeeds.
"""

import os
import socket

HOST_PORT = 0  # the test writes the port of its host-side listener here


def _escaped() -> list[str]:
    escaped = []
    try:
        socket.create_connection(("127.0.0.1", HOST_PORT), timeout=2).close()
        escaped.append("tcp to the host's loopback")
    except OSError:
        pass
    try:
        socket.getaddrinfo("pypi.org", 443)
        escaped.append("dns")
    except OSError:
        pass
    if os.path.isdir("/sys/class/net") and sorted(os.listdir("/sys/class/net")) != ["lo"]:
        escaped.append("interfaces " + ",".join(os.listdir("/sys/class/net")))
    return escaped


def add(a, b):
    escaped = _escaped()
    if escaped:
        print("escaped:", escaped)
        return a + b + 1
    return a + b
