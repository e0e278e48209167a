"""JSON-RPC 2.0 over a `Cluster`, answering as an agave validator answers.

`RpcHandler.handle(body)` takes the raw request body (single or batch) and returns the
raw response body, so the same code serves HTTP and tests. Results carry the
validator's `{"context": {"slot", "apiVersion"}, "value"}` wrapper where the validator
uses one; errors carry the validator's codes and messages, because clients branch on
them (solders parses -32002 into a preflight failure with its simulation result).

Cheatcodes live under the `localnet_` prefix; see localnet/README.md.

Modules: `framing` (bodies, batches, dispatch), `errors` (codes), `params` and `filters`
(parameter readers), `ui_account` and `shapes` (result JSON), the method groups
`accounts`, `tokens`, `chain`, `node`, `fees`, `transactions`, `history`, `cheatcodes`,
and `handler`, which binds the groups to a cluster.
"""

from localnet.rpc.errors import (
    BLOCK_NOT_AVAILABLE,
    INTERNAL_ERROR,
    INVALID_PARAMS,
    INVALID_REQUEST,
    METHOD_NOT_FOUND,
    MIN_CONTEXT_SLOT_NOT_REACHED,
    PARSE_ERROR,
    PREFLIGHT_FAILURE,
    SIGNATURE_VERIFICATION_FAILURE,
    TRANSACTION_VERSION_UNSUPPORTED,
    RpcError,
    invalid_params,
)
from localnet.rpc.filters import AccountFilter, parse_filters
from localnet.rpc.handler import RpcHandler
from localnet.rpc.node import API_VERSION, FEATURE_SET
from localnet.rpc.params import (
    account_encoding,
    commitment_of,
    config_object,
    data_slice_of,
    param,
    parse_pubkey,
    parse_signature,
)
from localnet.rpc.ui_account import account_value

__all__ = [
    "API_VERSION",
    "BLOCK_NOT_AVAILABLE",
    "FEATURE_SET",
    "INTERNAL_ERROR",
    "INVALID_PARAMS",
    "INVALID_REQUEST",
    "METHOD_NOT_FOUND",
    "MIN_CONTEXT_SLOT_NOT_REACHED",
    "PARSE_ERROR",
    "PREFLIGHT_FAILURE",
    "SIGNATURE_VERIFICATION_FAILURE",
    "TRANSACTION_VERSION_UNSUPPORTED",
    "AccountFilter",
    "RpcError",
    "RpcHandler",
    "account_encoding",
    "account_value",
    "commitment_of",
    "config_object",
    "data_slice_of",
    "invalid_params",
    "param",
    "parse_filters",
    "parse_pubkey",
    "parse_signature",
]
