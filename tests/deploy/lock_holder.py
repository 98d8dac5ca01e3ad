"""A "host" that takes one envmon lock and holds it, for the lock tests:

    python -m tests.deploy.lock_holder NAME shared|exclusive HOLD_S

Prints `acquired T` once it holds the lock and `released T` as it lets go
(T: time.time()). The storage, and so the kind of lock, comes from the
environment (envmon.core.locks).
"""

from __future__ import annotations

import sys
import time

from envmon.core.locks import dataset_lock


def main(argv: list[str]) -> int:
    name, mode, hold = argv[0], argv[1], float(argv[2])
    with dataset_lock(name, shared=mode == "shared"):
        print(f"acquired {time.time()}", flush=True)
        time.sleep(hold)
        print(f"released {time.time()}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
