#!/usr/bin/python3
"""A server's own GC pauses over a run driven by a load generator that cannot read them itself
(Apache's Java client): the same figures SharpKeeper.Bench's --server-stats reports.

Usage:
  server_cost.py begin sharp PORT        resets SharpKeeper's pause counters (srst); prints a mark
  server_cost.py begin apache GC_LOG     prints the JVM GC log's current size as the mark
  server_cost.py end sharp PORT MARK     prints {"ServerGcPauses", "ServerGcPauseMaxMs", "ServerGcPauseTotalMs"}
  server_cost.py end apache GC_LOG MARK  the same, from the pauses the GC log gained since MARK
"""
import json
import os
import re
import socket
import sys

# "[12.345s][info][gc] GC(7) Pause Young (Normal) (G1 Evacuation Pause) 30M->5M(252M) 4.567ms"
JVM_PAUSE = re.compile(r"\bPause\b.*?([0-9]+(?:\.[0-9]+)?)ms\s*$")


def word(port: int, command: str) -> str:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(command.encode("ascii"))
        chunks = []
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return b"".join(chunks).decode("ascii", "replace")
            chunks.append(chunk)


def main() -> None:
    phase, kind, target = sys.argv[1], sys.argv[2], sys.argv[3]
    if phase == "begin":
        if kind == "sharp":
            word(int(target), "srst")
            print(0)
        else:
            print(os.path.getsize(target) if os.path.exists(target) else 0)
        return

    mark = int(sys.argv[4])
    if kind == "sharp":
        values = {}
        for line in word(int(target), "mntr").splitlines():
            parts = line.split("\t")
            if len(parts) == 2 and parts[1].lstrip("-").isdigit():
                values[parts[0]] = int(parts[1])
        count, longest, total = values["zk_cnt_gc_pause_us"], values["zk_max_gc_pause_us"] / 1000, values["zk_sum_gc_pause_us"] / 1000
    else:
        pauses = []
        with open(target, "rb") as log:
            log.seek(mark)
            for line in log.read().decode("utf-8", "replace").splitlines():
                match = JVM_PAUSE.search(line)
                if match:
                    pauses.append(float(match.group(1)))
        count, longest, total = len(pauses), max(pauses, default=0.0), sum(pauses)
    print(json.dumps({"ServerGcPauses": count, "ServerGcPauseMaxMs": longest, "ServerGcPauseTotalMs": total}))


if __name__ == "__main__":
    main()
