"""A lakehouse writer process for the lakehouse tests: upserts keys
first..first+count-1 into lake.readings in batches, one transaction a batch,
through envmon.core.lakehouse (settings from the environment), and prints
`conflicts N`, the commit conflicts it retried.

    python -m tests.deploy.lakehouse_writer NAME FIRST COUNT BATCH [PAUSE]

PAUSE (seconds) between batches lets a test kill the process mid-way.
"""

from __future__ import annotations

import sys
import time

from envmon.core import lakehouse


def main(argv: list[str]) -> int:
    name, first, count, size = argv[0], int(argv[1]), int(argv[2]), int(argv[3])
    pause = float(argv[4]) if len(argv) > 4 else 0.0
    con = lakehouse.connect()
    conflicts = 0
    try:
        for start in range(first, first + count, size):
            keys = list(range(start, min(start + size, first + count)))

            def upsert(c, keys=keys, batch=start):
                c.execute("DELETE FROM lake.readings WHERE k BETWEEN ? AND ?",
                          [keys[0], keys[-1]])
                # One statement a batch: DuckLake inlines an insert of at most
                # ducklake_default_data_inlining_row_limit rows into the catalog,
                # a larger one is a Parquet file under the data path.
                c.execute("INSERT INTO lake.readings SELECT range, ?, ? FROM range(?, ?)",
                          [name, batch, keys[0], keys[-1] + 1])

            _, retried = lakehouse.transact(con, upsert, claims=["readings"], attempts=200)
            conflicts += retried
            print(f"committed {start}", flush=True)
            time.sleep(pause)
    finally:
        con.close()
    print(f"conflicts {conflicts}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
