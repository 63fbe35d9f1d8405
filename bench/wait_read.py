#!/usr/bin/python3
"""Waits until a ZooKeeper server answers a read, and prints the milliseconds since a given start.

Usage: wait_read.py PORT START_NS [TIMEOUT_S]
Polls every 10 ms: opens a session (ConnectRequest) and reads "/" (getData); the first success
ends the wait. START_NS is `date +%s%N` taken just before the server process was started.
"""
import socket
import struct
import sys
import time


def frame(payload: bytes) -> bytes:
    return struct.pack(">i", len(payload)) + payload


def read_frame(sock: socket.socket) -> bytes:
    def exactly(n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = sock.recv(n - len(data))
            if not chunk:
                raise OSError("closed")
            data += chunk
        return data

    (length,) = struct.unpack(">i", exactly(4))
    return exactly(length)


def answers_a_read(port: int) -> bool:
    with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
        # ConnectRequest: protocolVersion, lastZxidSeen, timeOut, sessionId, passwd (16 zero bytes), readOnly.
        sock.sendall(frame(struct.pack(">iqiqi16s?", 0, 0, 30000, 0, 16, b"\0" * 16, False)))
        read_frame(sock)
        # getData("/", watch=false) with xid 1, opcode 4.
        path = b"/"
        sock.sendall(frame(struct.pack(">iii", 1, 4, len(path)) + path + b"\0"))
        reply = read_frame(sock)
        xid, _zxid, err = struct.unpack(">iqi", reply[:16])
        # Close the session (opcode -11) so it does not linger until it expires.
        sock.sendall(frame(struct.pack(">ii", 2, -11)))
        return xid == 1 and err == 0


def main() -> None:
    port, start_ns = int(sys.argv[1]), int(sys.argv[2])
    deadline = time.time() + (float(sys.argv[3]) if len(sys.argv) > 3 else 300)
    while time.time() < deadline:
        try:
            if answers_a_read(port):
                print((time.time_ns() - start_ns) // 1_000_000)
                return
        except OSError:
            pass
        time.sleep(0.01)
    sys.exit(f"no read served on port {port} before the deadline")


main()
