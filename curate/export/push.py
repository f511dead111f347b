"""Pushing an exported folder to the Hugging Face Hub with ``huggingface_hub``.

The token is read from the environment (``HF_TOKEN``) and never printed, written, or put into an
exception: any failure (offline, unreachable, refused) becomes a one-line
:class:`~curate.errors.UserError`, and the local folder is left as it was, complete.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from curate.errors import UserError


def _scrub(text: str, secret: str | None) -> str:
    if secret:
        text = text.replace(secret, "***")
    text = re.sub(r"hf_[A-Za-z0-9]{8,}", "hf_***", text)
    text = " ".join(text.split())
    return text[:300]


def _upload(folder: Path, repo_id: str, private: bool, message: str, token_env: str) -> str:
    """The Hub calls; the token lives only in this frame and in ``HfApi``."""
    from huggingface_hub import HfApi

    api = HfApi(token=os.environ[token_env])
    api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
    info = api.upload_folder(
        folder_path=str(folder), repo_id=repo_id, repo_type="dataset", commit_message=message
    )
    return str(getattr(info, "commit_url", None) or f"https://huggingface.co/datasets/{repo_id}")


def push(
    folder: str | Path,
    repo_id: str,
    *,
    private: bool = False,
    token_env: str = "HF_TOKEN",
    commit_message: str = "Upload dataset exported by curate",
) -> str:
    """Upload an exported folder to the dataset repository ``repo_id``; returns the commit URL.

    Raises a one-line :class:`UserError` for a missing token, a bad repo id, or any Hub failure
    (offline, unreachable, refused); the token is never part of a message or of the error's
    chained exceptions, and the local folder is not touched.
    """
    folder = Path(folder)
    if not (folder / "README.md").is_file():
        raise UserError(f"{folder} is not an exported dataset folder (no README.md)")
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    try:
        validate_repo_id(repo_id)
        bad_id = "/" not in repo_id
    except HFValidationError:
        bad_id = True
    if bad_id:
        raise UserError(f"invalid Hub repository id {repo_id!r}", hint="use namespace/name")
    if not os.environ.get(token_env):
        raise UserError(
            f"{token_env} is not set", hint=f"export {token_env}=<a write token> and run again"
        )
    failure: str | None = None
    try:
        return _upload(folder, repo_id, private, commit_message, token_env)
    except Exception as exc:  # any Hub failure is reported as one line
        failure = _scrub(f"{type(exc).__name__}: {exc}", os.environ.get(token_env))
    # Raised outside the except block so the Hub exception (and its frames) are not chained.
    raise UserError(
        f"could not push {folder} to {repo_id}: {failure}",
        hint=f"the local folder {folder} is complete; push it again when the Hub is reachable",
    )
