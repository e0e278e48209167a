"""Account files in the format `solana account --output json` writes and
`solana-test-validator --account ADDRESS FILE` reads, so one export boots both.

A file is `{"pubkey": ..., "account": {"lamports", "data": [text, encoding], "owner",
"executable", "rentEpoch", "space"}}`; the data may be base64, base58 or base64+zstd
(what a validator's UiAccount decoder accepts).
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import zstandard
from solders.account import Account
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from localnet.encoding import EncodingError, decode_bytes


class AccountFileError(ValueError):
    """An account or program argument the localnet cannot load; the text says which."""


def account_file_json(address: Pubkey, account: Account) -> dict[str, Any]:
    """The JSON document for one account (base64 data)."""
    return {
        "pubkey": str(address),
        "account": {
            "lamports": account.lamports,
            "data": [base64.b64encode(bytes(account.data)).decode(), "base64"],
            "owner": str(account.owner),
            "executable": account.executable,
            "rentEpoch": account.rent_epoch,
            "space": len(account.data),
        },
    }


def _data(raw: Any, path: Path) -> bytes:
    if isinstance(raw, list) and len(raw) == 2 and all(isinstance(x, str) for x in raw):
        text, encoding = raw
        try:
            if encoding == "base64+zstd":
                packed = base64.b64decode(text, validate=True)
                return bytes(zstandard.ZstdDecompressor().decompressobj().decompress(packed))
            return decode_bytes(text, encoding)
        except (EncodingError, ValueError, zstandard.ZstdError) as exc:
            raise AccountFileError(f"{path}: account data is not valid {encoding}: {exc}") from exc
    raise AccountFileError(f"{path}: account data must be [text, encoding], got {raw!r}")


def read_account_file(path: Path) -> tuple[Pubkey, Account]:
    """The address recorded in an account file and the account it describes."""
    try:
        doc = json.loads(path.read_text())
    except OSError as exc:
        raise AccountFileError(f"cannot read account file {path}: {exc.strerror}") from exc
    except ValueError as exc:
        raise AccountFileError(f"{path} is not JSON: {exc}") from exc
    try:
        acc = doc["account"]
        address = Pubkey.from_string(doc["pubkey"])
        data = _data(acc["data"], path)
        lamports, rent_epoch = int(acc["lamports"]), int(acc.get("rentEpoch", 0))
        owner, executable = Pubkey.from_string(acc["owner"]), bool(acc.get("executable", False))
    except AccountFileError:
        raise
    except (KeyError, TypeError, ValueError) as exc:
        raise AccountFileError(
            f"{path} is not an account file (`solana account --output json`): {exc!r}"
        ) from exc
    return address, Account(lamports, data, owner, executable, rent_epoch)


def load_account_arg(address: str, path: Path) -> tuple[Pubkey, Account]:
    """`--account ADDRESS FILE`: ADDRESS `-` takes the file's pubkey, as the validator does."""
    recorded, account = read_account_file(path)
    return (recorded if address == "-" else parse_address(address)), account


def account_dir_files(directory: Path) -> list[Path]:
    """`--account-dir DIR`: every `*.json` file in it, each loaded at its recorded pubkey."""
    if not directory.is_dir():
        raise AccountFileError(f"--account-dir {directory} is not a directory")
    return sorted(directory.glob("*.json"))


def parse_address(text: str) -> Pubkey:
    """A base58 address, or a keypair file whose public key is meant (validator style)."""
    try:
        return Pubkey.from_string(text)
    except ValueError:
        pass
    path = Path(text)
    if path.is_file():
        try:
            return Keypair.from_bytes(bytes(json.loads(path.read_text()))).pubkey()
        except (ValueError, TypeError) as exc:
            raise AccountFileError(f"{path} is not a keypair file: {exc}") from exc
    raise AccountFileError(f"{text!r} is neither an address nor a keypair file")
