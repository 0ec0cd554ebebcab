"""Chain I/O: endpoints, block heads (and, as they land, gas oracle, mempool and transactions)."""

from keeper.chain._endpoints import ChainIdMismatch, NoEndpointAvailable, json_rpc, select_http_endpoint
from keeper.chain._heads import HeadWatcher
from keeper.chain._heads_codec import BlockHeader, MalformedMessage, decode_block_result, decode_head_push

__all__ = [
    "BlockHeader",
    "ChainIdMismatch",
    "HeadWatcher",
    "MalformedMessage",
    "NoEndpointAvailable",
    "decode_block_result",
    "decode_head_push",
    "json_rpc",
    "select_http_endpoint",
]
