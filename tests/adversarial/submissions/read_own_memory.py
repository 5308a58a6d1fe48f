"""Looks for the run in its own memory: the worker is forked from a zygote that was itself forked
from the checker's process (before the run was read), so anything of the run in the zygote would be
readable here. Searches every readable mapping for the hidden tests' marker.

Accepted only when the marker is not found. The marker is never built whole in this process (a
folded constant would find itself): the search looks for its prefix, then its suffix right after.
"""

import re

PREFIX = "-".join(["HIDDEN", "TESTS", ""]).encode()
SUFFIX = "".join(["MARK", "ER-7f3a"]).encode()
BUDGET = 512 * 2**20  # bytes read at most (the per-test CPU limit is 2 s)


def _found() -> list[str]:
    found = []
    read = 0
    with open("/proc/self/maps") as maps, open("/proc/self/mem", "rb", buffering=0) as mem:
        for line in maps:
            fields = line.split()
            if not fields[1].startswith("r") or (len(fields) > 5 and fields[5].startswith("[v")):
                continue  # unreadable, or [vvar]/[vsyscall]
            start, end = (int(x, 16) for x in fields[0].split("-"))
            if read + (end - start) > BUDGET:
                continue
            try:
                mem.seek(start)
                data = mem.read(end - start)
            except (OSError, OverflowError, ValueError):
                continue
            read += len(data)
            for match in re.finditer(re.escape(PREFIX), data):
                if data[match.end() : match.end() + len(SUFFIX)] == SUFFIX:
                    found.append(line.strip())
                    break
    return found


def add(a, b):
    found = _found()
    if found:
        print("found the hidden tests' marker in:", found[:3])
        return a + b + 1
    return a + b
