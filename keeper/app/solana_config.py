"""Solana CLI conventions: the config file, URL monikers and keypair files."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from solders.keypair import Keypair

from keeper.cluster.redact import redact_url
from keeper.core.errors import ConfigError

MONIKERS = {
    "m": "https://api.mainnet-beta.solana.com",
    "mainnet-beta": "https://api.mainnet-beta.solana.com",
    "d": "https://api.devnet.solana.com",
    "devnet": "https://api.devnet.solana.com",
    "t": "https://api.testnet.solana.com",
    "testnet": "https://api.testnet.solana.com",
    "l": "http://127.0.0.1:8899",
    "localhost": "http://127.0.0.1:8899",
}
DEFAULT_CONFIG_PATH = Path("~/.config/solana/cli/config.yml")
COMMITMENTS = ("processed", "confirmed", "finalized")


@dataclass(frozen=True)
class SolanaCliConfig:
    json_rpc_url: str = MONIKERS["mainnet-beta"]
    websocket_url: str = ""
    keypair_path: str = "~/.config/solana/id.json"
    commitment: str = "confirmed"


def resolve_url(url_or_moniker: str, source: str = "--url") -> str:
    """A moniker (m, d, t, l or their long names) or an http(s) URL → an http(s) URL.

    `source` names where the value came from (`--url`, or the config file's key), so
    the error points at the place to fix. The port, when given, must be 1..65535.
    """
    text = url_or_moniker.strip()
    if text in MONIKERS:
        return MONIKERS[text]
    if not text.startswith(("http://", "https://")):
        raise ConfigError(
            f"{source} {redact_url(text)!r} is neither an http(s) URL nor a moniker "
            f"({', '.join(sorted(MONIKERS))})"
        )
    hostport = text.split("://", 1)[1].split("/", 1)[0].rpartition("@")[2]
    host, colon, port = hostport.rpartition(":")
    if (colon and not host.endswith("]") and "]" not in port) and (
        not port.isdigit() or not 0 < int(port) <= 65535
    ):
        raise ConfigError(f"{source} {redact_url(text)!r}: port {port!r} is not 1..65535")
    if not (host if colon else hostport).strip("[]"):
        raise ConfigError(f"{source} {redact_url(text)!r} names no host")
    return text


def websocket_url_for(http_url: str) -> str:
    """The PubSub URL a validator serves next to `http_url` (port + 1, like the Solana CLI)."""
    scheme = "wss" if http_url.startswith("https://") else "ws"
    rest = http_url.split("://", 1)[1]
    hostport, sep, path = rest.partition("/")
    host, _, port = hostport.rpartition(":")
    if host and port.isdigit():
        hostport = f"{host}:{int(port) + 1}"
    return f"{scheme}://{hostport}{sep}{path}"


def _parse_flat_yaml(text: str, path: Path) -> dict[str, str]:
    """The Solana CLI writes a flat `key: value` YAML; nested maps are ignored."""
    out: dict[str, str] = {}
    for lineno, line in enumerate(text.splitlines(), 1):
        if (
            not line.strip()
            or line.lstrip().startswith("#")
            or line.strip() == "---"
            or line.startswith((" ", "\t"))
        ):
            continue
        key, sep, value = line.partition(":")
        if not sep:
            raise ConfigError(f"{path}:{lineno}: expected `key: value`")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        out[key.strip()] = value
    return out


def load_cli_config(path: Path | None = None) -> SolanaCliConfig:
    """Read the Solana CLI config; a missing default file means Solana's defaults."""
    explicit = path is not None
    cfg_path = (path or DEFAULT_CONFIG_PATH).expanduser()
    if not cfg_path.exists():
        if explicit:
            raise ConfigError(f"config file {cfg_path} does not exist")
        return SolanaCliConfig()
    try:
        values = _parse_flat_yaml(cfg_path.read_text(encoding="utf-8"), cfg_path)
    except OSError as exc:
        raise ConfigError(f"cannot read config file {cfg_path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        # never echo the bytes: a mistaken -C may point at a secret
        raise ConfigError(f"config file {cfg_path} is not a UTF-8 text (YAML) file") from None
    defaults = SolanaCliConfig()
    commitment = values.get("commitment", defaults.commitment) or defaults.commitment
    if commitment not in COMMITMENTS:
        raise ConfigError(f"{cfg_path}: commitment {commitment!r} is not one of {COMMITMENTS}")
    return SolanaCliConfig(
        json_rpc_url=values.get("json_rpc_url") or defaults.json_rpc_url,
        websocket_url=values.get("websocket_url", ""),
        keypair_path=values.get("keypair_path") or defaults.keypair_path,
        commitment=commitment,
    )


def load_keypair(path: str | Path) -> Keypair:
    """Read a Solana CLI keypair file (a JSON array of 64 bytes) with precise errors.

    The file's content never appears in an error message.
    """
    p = Path(os.path.expanduser(str(path)))
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        # the exception's text quotes a byte of the file, which may be a secret byte
        raise ConfigError(
            f"keypair file {p} is not a JSON text file (expected an array of 64 bytes)"
        ) from None
    except FileNotFoundError:
        raise ConfigError(f"keypair file {p} does not exist") from None
    except OSError as exc:
        raise ConfigError(f"cannot read keypair file {p}: {exc.strerror}") from None
    try:
        values = json.loads(text)
    except ValueError:
        raise ConfigError(f"keypair file {p} is not JSON (expected an array of 64 bytes)") from None
    if not isinstance(values, list) or len(values) != 64:
        size = len(values) if isinstance(values, list) else type(values).__name__
        raise ConfigError(f"keypair file {p} must hold an array of 64 bytes, found {size}")
    if not all(isinstance(b, int) and not isinstance(b, bool) and 0 <= b <= 255 for b in values):
        raise ConfigError(f"keypair file {p} holds values that are not bytes (0..255)")
    try:
        kp = Keypair.from_bytes(bytes(values))
    except ValueError:
        raise ConfigError(f"keypair file {p} is not a valid ed25519 keypair") from None
    if bytes(kp)[32:] != bytes(values[32:]):
        raise ConfigError(f"keypair file {p}: the public half does not match the secret half")
    return kp
