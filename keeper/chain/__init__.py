"""Chain I/O: RPC endpoints, heads, gas oracle, mempool, keys, nonce lanes and the transaction manager."""

from keeper.chain._fillers import GasEstimateError, MissingFieldsError, TxRequest
from keeper.chain._gas_oracle import GasOracle, decode_fee_history
from keeper.chain._head_tracker import ChainNotice, ChainReset, HeadTracker, Reorg
from keeper.chain._heads import HeadWatcher
from keeper.chain._heads_codec import (
    BlockHeader,
    MalformedMessageError,
    decode_block_result,
    decode_head_push,
)
from keeper.chain._keys import KeyLoadError, Signer, anvil_account, load_signer, new_keystore
from keeper.chain._mempool import MempoolWatcher
from keeper.chain._nonce import LaneState, NonceLane
from keeper.chain._pending_codec import PendingEvent, PendingTx, PendingTxEvent, PendingTxGone
from keeper.chain._policy import fee_policy
from keeper.chain._rpc import (
    ChainIdMismatchError,
    JsonRpc,
    NoEndpointAvailableError,
    RpcClient,
    RpcError,
    RpcTransportError,
    SendErrorKind,
    SendOutcomeUnknownError,
    SendRejectedError,
    classify_send_error,
)
from keeper.chain._tx_manager import TxManager
from keeper.chain._tx_state import Attempt, Receipt, TxHandle, TxStatus

__all__ = [
    "Attempt",
    "BlockHeader",
    "ChainIdMismatchError",
    "ChainNotice",
    "ChainReset",
    "GasEstimateError",
    "GasOracle",
    "HeadTracker",
    "HeadWatcher",
    "JsonRpc",
    "KeyLoadError",
    "LaneState",
    "MalformedMessageError",
    "MempoolWatcher",
    "MissingFieldsError",
    "NoEndpointAvailableError",
    "NonceLane",
    "PendingEvent",
    "PendingTx",
    "PendingTxEvent",
    "PendingTxGone",
    "Receipt",
    "Reorg",
    "RpcClient",
    "RpcError",
    "RpcTransportError",
    "SendErrorKind",
    "SendOutcomeUnknownError",
    "SendRejectedError",
    "Signer",
    "TxHandle",
    "TxManager",
    "TxRequest",
    "TxStatus",
    "anvil_account",
    "classify_send_error",
    "decode_block_result",
    "decode_fee_history",
    "decode_head_push",
    "fee_policy",
    "load_signer",
    "new_keystore",
]
