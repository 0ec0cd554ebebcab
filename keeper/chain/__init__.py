"""Chain I/O: endpoints, block heads (and, as they land, gas oracle, mempool and transactions)."""

from keeper.chain._endpoints import (
    ChainIdMismatchError,
    NoEndpointAvailableError,
    json_rpc,
    select_http_endpoint,
)
from keeper.chain._gas_oracle import GasOracle, decode_fee_history
from keeper.chain._heads import HeadWatcher
from keeper.chain._heads_codec import (
    BlockHeader,
    MalformedMessageError,
    decode_block_result,
    decode_head_push,
)
from keeper.chain._keys import KeyLoadError, Signer, anvil_account, load_signer, new_keystore

__all__ = [
    "BlockHeader",
    "ChainIdMismatchError",
    "GasOracle",
    "HeadWatcher",
    "KeyLoadError",
    "MalformedMessageError",
    "NoEndpointAvailableError",
    "Signer",
    "anvil_account",
    "decode_block_result",
    "decode_fee_history",
    "decode_head_push",
    "json_rpc",
    "load_signer",
    "new_keystore",
    "select_http_endpoint",
]
