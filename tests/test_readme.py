"""The README's promises: two commands first, and SQL examples that run."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from envmon.core.progress import SilentReporter
from envmon.demo.run import DEMOS, query_hints
from envmon.domains import build_warehouse
from tests.support import stored

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
SQL_BLOCKS = re.findall(r"```sql\n(.*?)```", README, flags=re.S)


def test_readme_opens_with_the_two_commands() -> None:
    first_block = re.search(r"```sh\n(.*?)```", README, flags=re.S).group(1)
    commands = [line.split("#")[0].strip() for line in first_block.strip().splitlines()]
    assert commands == ["make demo", "make test"]


@pytest.fixture(scope="module")
def demo_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("readme_home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ENVMON_HOME", str(home))
        for demo in DEMOS.values():
            demo.load(date(2026, 1, 10), date(2026, 1, 13), 2026, SilentReporter())
        return build_warehouse()


@pytest.mark.parametrize("sql", SQL_BLOCKS, ids=[f"sql{i}" for i in range(len(SQL_BLOCKS))])
def test_readme_sql_runs_and_returns_rows(demo_warehouse: Path, sql: str) -> None:
    con = stored.open_warehouse(demo_warehouse)
    try:
        rows = con.execute(sql).fetchall()
    finally:
        con.close()
    assert rows, f"README example returned nothing on four demo days:\n{sql}"


def test_the_demo_s_python_line_reads_the_warehouse(demo_warehouse: Path,
                                                    tmp_path: Path) -> None:
    """What `envmon demo` prints for Python runs as printed, in a plain
    interpreter elsewhere, without envmon's settings in the environment."""
    [line] = [hint for hint in query_hints(demo_warehouse) if hint.split()[:1] == ["python"]]
    label, _, flag, code = shlex.split(line)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ENVMON_")}
    done = subprocess.run([sys.executable, flag, code], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "city_code" in done.stdout and "5 rows" in done.stdout, done.stdout


def test_readme_has_sql_examples() -> None:
    assert len(SQL_BLOCKS) >= 4
