"""A shared lakehouse for the deployment tests: PostgreSQL from Debian's
packages as DuckLake's catalog and moto's S3 server as its bucket, started
once per test module. Hosts are processes that share only these two services.
"""

from __future__ import annotations

import os
import secrets
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.deploy.services import Stack, free_port, require_packages, start_postgres, wait_for

BUCKET = "envmon-lake"


@dataclass
class SharedLake:
    env: dict[str, str]  # what a host needs: catalog, bucket, secrets
    stack: Stack
    s3_endpoint: str

    def host_env(self, root: Path) -> dict[str, str]:
        """A host: its own ENVMON_HOME, nothing else of the file system in common."""
        host_home = root / "home"
        host_home.mkdir(parents=True)
        return {**os.environ, **self.env, "ENVMON_HOME": str(host_home)}

    def objects(self) -> list[str]:
        import boto3

        client = boto3.client("s3", endpoint_url=f"http://{self.s3_endpoint}",
                              aws_access_key_id=self.env["AWS_ACCESS_KEY_ID"],
                              aws_secret_access_key=self.env["AWS_SECRET_ACCESS_KEY"],
                              region_name="us-east-1")
        pages = client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET)
        return [o["Key"] for page in pages for o in page.get("Contents", [])]


@pytest.fixture(scope="module")
def shared_lake() -> Iterator[SharedLake]:
    require_packages("PostgreSQL")
    import boto3

    stack = Stack(Path(tempfile.mkdtemp(prefix="envmon-lakehouse-")))
    try:
        password = secrets.token_hex(16)
        db = start_postgres(stack, password, user="envmon", name="lakehouse")
        port = free_port()
        stack.start("moto", [sys.executable, "-m", "moto.server", "-H", "127.0.0.1",
                             "-p", str(port)], os.environ.copy())
        endpoint = f"127.0.0.1:{port}"
        keys = {"AWS_ACCESS_KEY_ID": "envmon-test", "AWS_SECRET_ACCESS_KEY": "not-a-secret"}
        client = boto3.client("s3", endpoint_url=f"http://{endpoint}", region_name="us-east-1",
                              aws_access_key_id=keys["AWS_ACCESS_KEY_ID"],
                              aws_secret_access_key=keys["AWS_SECRET_ACCESS_KEY"])
        wait_for("the S3 server", lambda: client.list_buckets() is not None, timeout=60,
                 stack=stack)
        client.create_bucket(Bucket=BUCKET)
        env = {**keys,
               "ENVMON_LAKEHOUSE_CATALOG": (f"host={db.host} port={db.port} dbname={db.name} "
                                            f"user={db.user}"),
               "PGPASSWORD": password,
               "ENVMON_LAKEHOUSE_DATA": f"s3://{BUCKET}/lake/", "ENVMON_STORAGE": "lakehouse",
               "ENVMON_S3_ENDPOINT": endpoint, "ENVMON_S3_USE_SSL": "false"}
        yield SharedLake(env, stack, endpoint)
    finally:
        stack.stop()
