# Copyright (c) 2026, wabiz.api_client contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Network probes of the Docker side: does a Webapp answer HTTPS, does a database server answer its own
protocol. Standard library only (no Docker SDK): the probes run from the managed host.

PRIVATE to this collection: no compatibility promise to other collections.
"""

from __future__ import annotations

import socket
import ssl

from ansible_collections.wabiz.api_client.plugins.module_utils._wait import poll


def _within(deadline, most):
    """A probe's socket timeout: at most ``most`` seconds, and not past the wait's deadline (0.1 s at least)."""
    return max(0.1, min(most, deadline.left()))


def https_answers(host, port, path="/v1/health", timeout=5.0):
    """True when an HTTPS server answers on host:port (any HTTP status counts; certificate not checked)."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            with context.wrap_socket(sock, server_hostname=host) as tls:
                tls.settimeout(timeout)
                tls.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" % (path, host)).encode())
                head = tls.recv(16)
                return head.startswith(b"HTTP/")
    except (OSError, ssl.SSLError):
        return False


def wait_https(host, port, timeout):
    """Wait until :func:`https_answers`; True when it did within ``timeout`` seconds."""
    return poll(lambda d: https_answers(host, port, timeout=_within(d, 5.0)), timeout)[0]


def tcp_answers(host, port, timeout=3.0):
    try:
        with socket.create_connection((host, int(port)), timeout=timeout):
            return True
    except OSError:
        return False


def mysql_answers(host, port, timeout=3.0):
    """True when a MySQL/MariaDB server on host:port sends its greeting (or an error packet) on connect."""
    try:
        with socket.create_connection((host, int(port)), timeout=timeout) as sock:
            sock.settimeout(timeout)
            head = sock.recv(5)
            # 3-byte length, 1-byte sequence, then protocol version 10 or an error packet (0xff).
            return len(head) == 5 and head[4] in (10, 0xFF)
    except OSError:
        return False


def pgsql_answers(host, port, timeout=3.0):
    """True when a PostgreSQL server on host:port answers an SSLRequest (``S`` or ``N``), as every
    PostgreSQL server does before authentication."""
    try:
        with socket.create_connection((host, int(port)), timeout=timeout) as sock:
            sock.settimeout(timeout)
            # Int32 length 8, Int32 code 80877103 (the SSLRequest of PostgreSQL's protocol).
            sock.sendall(b"\x00\x00\x00\x08\x04\xd2\x16\x2f")
            return sock.recv(1) in (b"S", b"N")
    except OSError:
        return False


DB_PROBES = {"MYSQL": mysql_answers, "PGSQL": pgsql_answers}


def wait_db(host, port, engine, timeout):
    """Wait until the database server answers with its own protocol (TCP only for an unknown engine);
    True when it did within ``timeout`` seconds."""
    probe = DB_PROBES.get((engine or "MYSQL").upper(), tcp_answers)
    return poll(lambda d: probe(host, port, timeout=_within(d, 3.0)), timeout)[0]
