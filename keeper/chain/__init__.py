"""Chain I/O: endpoints, block heads (and, as they land, gas oracle, mempool and transactions)."""

from keeper.chain._endpoints import (
    ChainIdMismatchError,
    NoEndpointAvailableError,
    json_rpc,
    select_http_endpoint,
)
from keeper.chain._heads import HeadWatcher
from keeper.chain._heads_codec import (
    BlockHeader,
    MalformedMessageError,
    decode_block_result,
    decode_head_push,
)

__all__ = [
    "BlockHeader",
    "ChainIdMismatchError",
    "HeadWatcher",
    "MalformedMessageError",
    "NoEndpointAvailableError",
    "decode_block_result",
    "decode_head_push",
    "json_rpc",
    "select_http_endpoint",
]
