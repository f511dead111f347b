"""GCS and Azure stores through the store's one filesystem layer (``curate.store.fs``).

There is no GCS or Azure server here: these tests check that ``gs://`` and ``az://`` store
roots resolve to pyarrow's GCS and Azure filesystems, and that a store whose cloud refuses
(no credentials, no network) stops a command with one clear error line that names where the
settings come from, without a traceback and without the credentials. Nothing leaves the
machine: the GCS credentials are a local file whose key cannot sign, the metadata server is
pointed at a closed local port, and so is the Azure service (with a key given, so that no
managed-identity address is tried).
"""

from __future__ import annotations

import base64
import datetime
import json
from pathlib import Path

import pyarrow.fs as pafs
import pytest

from curate.errors import UserError
from curate.store import Store
from curate.store.fs import GCS_RETRY_SECONDS, resolve
from testkit.cli import cli_env, run_cli

SECRET = "SECRETKEYMATERIAL0123456789"
AZURE_KEY = base64.b64encode(SECRET.encode()).decode()
#: the Azure service at a closed local port: no request leaves the machine
AZURITE = "&".join(
    f"{service}_storage_{k}={v}"
    for service in ("blob", "dfs")
    for k, v in (("authority", "127.0.0.1:9"), ("scheme", "http"))
)


def _options(fs: pafs.FileSystem) -> dict:
    return fs.__reduce__()[1][0]


@pytest.mark.parametrize("scheme", ["gs", "gcs"])
def test_a_gs_root_resolves_to_pyarrows_gcs_filesystem(scheme):
    location = resolve(f"{scheme}://my-bucket/curate/store")
    assert isinstance(location.fs, pafs.GcsFileSystem)
    assert location.path == "my-bucket/curate/store"
    assert location.uri == f"{scheme}://my-bucket/curate/store"
    assert location.child("_runs").path == "my-bucket/curate/store/_runs"
    # requests are retried for a minute, not the client's 15: no credentials fail in time
    assert _options(location.fs)["retry_time_limit"] == datetime.timedelta(
        seconds=GCS_RETRY_SECONDS
    )
    given = resolve("gs://my-bucket/curate?retry_limit_seconds=5")
    assert _options(given.fs)["retry_time_limit"] == datetime.timedelta(seconds=5)
    assert resolve(given.uri).uri == given.uri  # what a worker resolves again


def test_an_az_root_resolves_to_pyarrows_azure_filesystem(monkeypatch):
    monkeypatch.setenv("AZURE_STORAGE_ACCOUNT_NAME", "myaccount")
    monkeypatch.setenv("AZURE_STORAGE_ACCOUNT_KEY", "c2VjcmV0")
    location = resolve("az://my-container/curate/store")
    assert isinstance(location.fs, pafs.AzureFileSystem)
    assert _options(location.fs)["account_name"] == "myaccount"
    assert location.path == "my-container/curate/store"
    assert location.uri == "az://my-container/curate/store"
    assert "c2VjcmV0" not in location.uri
    named = resolve("abfss://my-container@myaccount.dfs.core.windows.net/curate")
    assert isinstance(named.fs, pafs.AzureFileSystem)
    assert named.path == "my-container/curate"


def test_an_az_root_without_an_account_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("AZURE_STORAGE_ACCOUNT_NAME", raising=False)
    with pytest.raises(UserError, match="AZURE_STORAGE_ACCOUNT_NAME") as error:
        Store("az://my-container/curate")
    assert "abfss://" in (error.value.hint or "")


def test_a_pyarrow_without_the_azure_filesystem_says_what_to_install(monkeypatch):
    """As with a pyarrow built without Azure support (some distributions' builds)."""
    monkeypatch.setenv("AZURE_STORAGE_ACCOUNT_NAME", "myaccount")
    monkeypatch.delattr(pafs, "AzureFileSystem")
    with pytest.raises(UserError, match="no Azure filesystem") as error:
        resolve("az://my-container/curate")
    assert "pip install 'pyarrow==" in (error.value.hint or "")


def _offline_env(tmp_path: Path) -> dict[str, str]:
    """The CLI's environment with cloud credentials that cannot work, nothing sent away: a
    service account file whose key cannot sign (GCS), no Azure credentials but the account."""
    key = tmp_path / "service-account.json"
    key.write_text(
        json.dumps(
            {
                "type": "service_account",
                "project_id": "curate-test",
                "private_key_id": "k1",
                "private_key": f"-----BEGIN PRIVATE KEY-----\n{SECRET}\n-----END PRIVATE KEY-----",
                "client_email": "curate@curate-test.iam.gserviceaccount.com",
                "client_id": "1",
                "token_uri": "http://127.0.0.1:9/token",
            }
        )
    )
    env = {k: v for k, v in cli_env().items() if not k.startswith(("AZURE_", "GOOGLE_", "GCE_"))}
    env.update(
        GOOGLE_APPLICATION_CREDENTIALS=str(key),
        GCE_METADATA_ROOT="127.0.0.1:9",
        AZURE_STORAGE_ACCOUNT_NAME="curatetestaccount",
        AZURE_STORAGE_ACCOUNT_KEY=AZURE_KEY,  # a key: no managed-identity probe
    )
    return env


@pytest.mark.parametrize(
    "store",
    ["gs://curate-test-bucket/store?retry_limit_seconds=2", f"az://curate-test/store?{AZURITE}"],
)
@pytest.mark.parametrize("command", [["stats"], ["align"], ["--debug", "stats"]])
def test_a_cloud_store_without_credentials_is_one_clear_error(tmp_path, store, command):
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    done = run_cli(*command, "--store", store, env=_offline_env(tmp_path), cwd=cwd, timeout=120)
    assert SECRET not in done.stdout + done.stderr
    assert AZURE_KEY not in done.stdout + done.stderr
    assert list(cwd.iterdir()) == []
    if "--debug" in command:  # the traceback is what --debug is for; the secret never shows
        assert done.returncode != 0 and "UserError: cannot reach the store" in done.stderr
        return
    assert done.returncode == 2, done.stderr
    lines = done.stderr.splitlines()
    assert lines[0].startswith(f"error: cannot reach the store {store.split('?')[0]}: "), lines
    assert len(lines) == 2 and lines[1].startswith("hint: check "), lines
    cloud_settings = "GOOGLE_APPLICATION_CREDENTIALS" if store.startswith("gs") else "AZURE_"
    assert cloud_settings in lines[1]
    assert "Traceback" not in done.stderr
