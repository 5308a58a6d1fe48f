"""Tries to write the root filesystem, /etc, and its own source file. Accepted only if every write fails."""

import os


def _attempt(action) -> bool:
    try:
        action()
        return True
    except OSError:
        return False


def _append(path: str) -> None:
    with open(path, "a") as f:
        f.write("# pwned\n")


def add(a, b):
    wrote = [
        path
        for path, action in [
            ("/pwned", lambda: _append("/pwned")),
            ("/etc/passwd", lambda: _append("/etc/passwd")),
            ("/usr/lib/pwned", lambda: _append("/usr/lib/pwned")),
            ("own file", lambda: _append(__file__)),
            ("chmod own file", lambda: os.chmod(__file__, 0o666)),
            ("own directory", lambda: _append(os.path.join(os.path.dirname(__file__), "other.py"))),
        ]
        if _attempt(action)
    ]
    if wrote:
        print("wrote:", wrote)
        return a + b + 1
    return a + b
