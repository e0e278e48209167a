"""The keeper's config file: typed keys, refused typos, paths, overrides, wallets."""

from __future__ import annotations

from pathlib import Path

import pytest

from keeper.app.config import load_settings
from keeper.core.decide import Policy
from keeper.core.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent
WALLETS = """
[cluster]
url = "http://127.0.0.1:8899"
ws_url = "ws://127.0.0.1:8900"

[keeper]
fee_payer = "keys/payer.json"
max_utilization_percent = 75.5

[[wallets]]
name = "alice"
keypair = "keys/alice.json"
markets = [{ market = 0, policy = "cap", cap_base_units = 600000000 }, { market = 1, policy = "exit" }]

[[wallets]]
keypair = "/abs/bob.json"
[[wallets.markets]]
market = 1
policy = "take-profit"
min_request_base_units = 5000
"""


def write(tmp_path: Path, body: str, name: str = "keeper.toml") -> Path:
    path = tmp_path / "conf" / name
    path.parent.mkdir(exist_ok=True)
    path.write_text(body)
    return path


def test_wallets_policies_and_paths_relative_to_the_config_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the CWD is not the config's folder
    s = load_settings(write(tmp_path, WALLETS), env={})
    conf = (tmp_path / "conf").resolve()
    assert s.fee_payer_path == conf / "keys/payer.json"
    alice, bob = s.wallets
    assert (alice.name, alice.keypair_path) == ("alice", conf / "keys/alice.json")
    assert (bob.name, bob.keypair_path) == ("bob", Path("/abs/bob.json"))
    assert [(m.market_index, m.policy, m.cap_amount) for m in alice.markets] == [
        (0, Policy.CAP, 600_000_000),
        (1, Policy.EXIT, 0),
    ]
    (tp,) = bob.markets
    assert (tp.policy, tp.min_request_amount) == (Policy.TAKE_PROFIT, 5000)
    assert s.settle_markets == (0, 1) and s.markets == (0, 1)
    assert s.max_utilization == 755_000
    assert s.state_dir == conf / ".drift-if-keeper"


def test_the_first_format_is_one_wallet_with_its_keypair_relative_to_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    body = '[cluster]\nurl = "l"\n[keeper]\nkeypair = "k/alice.json"\nrequest_policy = "cap"\n'
    body += "max_stake_base_units = 5\nmarkets = [0, 1]\nsettle = false\n"
    s = load_settings(write(tmp_path, body), env={})
    (w,) = s.wallets
    assert w.keypair_path == (tmp_path / "conf" / "k/alice.json").resolve()
    assert s.fee_payer_path == w.keypair_path
    assert [(m.market_index, m.policy, m.cap_amount) for m in w.markets] == [
        (0, Policy.CAP, 5),
        (1, Policy.CAP, 5),
    ]
    assert s.settle_markets == () and s.max_utilization == 800_000  # the default 80%


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("[keeper]\npoll_intervall_seconds = 5\n", "unknown key keeper.poll_intervall_seconds"),
        ("[cluster]\nurll = 'l'\n", "unknown key cluster.urll"),
        ("[extra]\n", r"unknown sections \[extra\]"),
        (
            WALLETS.replace('policy = "exit"', 'policy = "exit", cap = 1'),
            r"wallets\[0\]\.markets\[1\]\.cap",
        ),
        (WALLETS + "\n[fees]\npriority_percentile = 50\n", "unknown key fees.priority_percentile"),
        (
            '[[wallets]]\nkeypair = "a.json"\nmarkets = [{ market = 0, policy = "cap" }]\n',
            "policy cap needs cap_base_units",
        ),
        ('[keeper]\nkeypair = "a.json"\n' + WALLETS.split("[keeper]")[1], "single-wallet format"),
        ("[keeper]\nmax_utilization_percent = 101\n", "max_utilization_percent"),
        ('[[wallets]]\nkeypair = "a.json"\nmarkets = []\n', "markets"),
    ],
)
def test_refused_with_the_key_and_the_file(tmp_path: Path, body: str, message: str) -> None:
    path = write(tmp_path, body)
    with pytest.raises(ConfigError, match=message) as err:
        load_settings(path, env={})
    text = str(err.value)
    assert str(path) in text and "\n" not in text


def test_url_override_derives_the_pubsub_url_and_env_carries_secrets(tmp_path: Path) -> None:
    path = write(tmp_path, WALLETS)
    assert load_settings(path, env={}).ws_url == "ws://127.0.0.1:8900"
    # -u: the file's ws_url belongs to the file's url, so it is not kept
    s = load_settings(path, url_override="http://10.0.0.5:9000", env={})
    assert (s.url, s.ws_url) == ("http://10.0.0.5:9000", "ws://10.0.0.5:9001")
    secret = "https://rpc.example/?api-key=SECRET"
    s = load_settings(path, env={"DRIFT_IF_RPC_URL": secret})
    assert (s.url, s.ws_url) == (secret, "wss://rpc.example/?api-key=SECRET")
    env = {"DRIFT_IF_RPC_URL": secret, "DRIFT_IF_WS_URL": "wss://ws.example/?k=S2"}
    s = load_settings(path, env=env | {"DRIFT_IF_STATE_DIR": "/var/lib/k"})
    assert s.ws_url == "wss://ws.example/?k=S2" and s.state_dir == Path("/var/lib/k")
    # a flag beats the environment
    assert load_settings(path, url_override="l", env=env).url == "http://127.0.0.1:8899"
    s = load_settings(path, env={"DRIFT_IF_FEE_PAYER": "/secure/payer.json"})
    assert s.fee_payer_path == Path("/secure/payer.json")


def test_the_shipped_example_is_valid() -> None:
    s = load_settings(ROOT / "config/keeper.example.toml", env={})
    assert len(s.wallets) == 2 and s.markets == (0, 1)
    assert s.fee_payer_path == (ROOT / ".localnet/keypairs/keeper.json").resolve()
