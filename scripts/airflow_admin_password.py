"""Write Airflow's simple-auth-manager password file from the environment.

Airflow 3's SimpleAuthManager keeps user passwords in a JSON file
({"user": "password"}); for a configured user missing from the file it
generates a random password and prints it into the api-server's log. A
deployment sets the admin password from a secret instead, before the
api-server starts:

    AIRFLOW_ADMIN_PASSWORD=... python scripts/airflow_admin_password.py [FILE]

FILE defaults to $AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE. The user
is $AIRFLOW_ADMIN_USERNAME (default "admin"); it must also be listed in
AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS (e.g. "admin:admin"). Passwords of
other users already in the file are kept. Standard library only: it runs in
the Airflow image before anything else.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path


def write_password(path: Path, username: str, password: str) -> None:
    """Set `username`'s password in the file at `path`, atomically, readable by the owner only."""
    passwords: dict[str, str] = {}
    if path.exists() and path.read_text(encoding="utf-8").strip():
        try:
            passwords = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise SystemExit(f"{path}: not a JSON password file: {exc}") from None
    passwords[username] = password
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(json.dumps(passwords) + "\n")
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def main(argv: list[str]) -> int:
    target = argv[1] if len(argv) > 1 else os.environ.get(
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE", "")
    if not target:
        print("airflow_admin_password: give the file, or set "
              "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE", file=sys.stderr)
        return 2
    password = os.environ.get("AIRFLOW_ADMIN_PASSWORD", "")
    if not password:
        print("airflow_admin_password: AIRFLOW_ADMIN_PASSWORD is not set", file=sys.stderr)
        return 2
    username = os.environ.get("AIRFLOW_ADMIN_USERNAME", "admin")
    write_password(Path(target), username, password)
    print(f"airflow_admin_password: password of {username!r} set in {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
