"""Wire types of the Hyperliquid exchange actions, as msgspec Structs.

Field order *is* the wire order: msgspec encodes a Struct as a map in field-definition order with
the ``type`` tag first, which is exactly the key order the venue hashes (msgpack) and expects
(JSON). Python attribute names are descriptive; ``field(name=...)`` gives the wire key.
Optional fields default to ``None`` and are omitted from the encoding (``omit_defaults``), as the
venue requires ("optional fields are omitted, not null"); an explicit JSON null decodes as absent,
as a serde ``Option`` would.

Construction does not validate (it is on the hot path); decoding with :func:`parse_l1_action` /
:func:`parse_user_signed_action` validates everything, including the ``Meta`` constraints below.
Build orders from Decimals with :mod:`keeper.codecs.hyperliquid.order_builders`.
"""

from __future__ import annotations

from typing import Annotated, Literal, get_args

import msgspec
from msgspec import Meta, field

U64_MAX = 2**64 - 1

# Decoded-string constraints. Cloids and in-action addresses must be lowercase hex: the venue may
# parse them as bytes and re-serialize lowercase before hashing.
Cloid = Annotated[str, Meta(pattern=r"^0x[0-9a-f]{32}$")]
LowerAddress = Annotated[str, Meta(pattern=r"^0x[0-9a-f]{40}$")]
AnyCaseAddress = Annotated[str, Meta(pattern=r"^0x[0-9a-fA-F]{40}$")]
DecimalString = Annotated[str, Meta(pattern=r"^[0-9]+(\.[0-9]+)?$")]
Asset = Annotated[int, Meta(ge=0, le=2**32 - 1)]
Uint64 = Annotated[int, Meta(ge=0)]  # msgspec bounds must fit int64; msgpack refuses > 2^64-1
Int64 = Annotated[int, Meta(ge=-(2**63), le=2**63 - 1)]

Tif = Literal["Alo", "Ioc", "Gtc"]
Tpsl = Literal["tp", "sl"]
Grouping = Literal["na", "normalTpsl", "positionTpsl"]
HyperliquidChain = Literal["Mainnet", "Testnet"]


class _Wire(msgspec.Struct, frozen=True, omit_defaults=True, forbid_unknown_fields=True):
    """Common config: immutable (what you sign is what you send), strict decoding.

    Subclasses restate ``frozen=True`` only because mypy's dataclass_transform does not inherit it.
    """


class LimitSpec(_Wire, frozen=True):
    """``{"tif": ...}`` inside a limit order type."""

    tif: Tif


class TriggerSpec(_Wire, frozen=True):
    """``{"isMarket", "triggerPx", "tpsl"}``: isMarket precedes triggerPx in the hashed order."""

    is_market: bool = field(name="isMarket")
    trigger_price: DecimalString = field(name="triggerPx")
    tpsl: Tpsl


class OrderType(_Wire, frozen=True):
    """``{"limit": LimitSpec}`` or ``{"trigger": TriggerSpec}``; exactly one is set."""

    limit: LimitSpec | None = None
    trigger: TriggerSpec | None = None

    def __post_init__(self) -> None:
        if (self.limit is None) == (self.trigger is None):
            raise ValueError("order type needs exactly one of 'limit' or 'trigger'")


class OrderWire(_Wire, frozen=True):
    """One order: keys a, b, p, s, r, t[, c] in that order."""

    asset: Asset = field(name="a")
    is_buy: bool = field(name="b")
    price: DecimalString = field(name="p")
    size: DecimalString = field(name="s")
    reduce_only: bool = field(name="r")
    order_type: OrderType = field(name="t")
    cloid: Cloid | None = field(default=None, name="c")


class BuilderFee(_Wire, frozen=True):
    """Builder code attached to an order action: lowercase address ``b``, fee ``f`` in tenths of a bp."""

    address: LowerAddress = field(name="b")
    fee_tenths_bp: Annotated[int, Meta(ge=0)] = field(name="f")


class CancelWire(_Wire, frozen=True):
    """``{"a": asset, "o": oid}``."""

    asset: Asset = field(name="a")
    oid: Uint64 = field(name="o")


class CancelByCloidWire(_Wire, frozen=True):
    """``{"asset", "cloid"}`` -- note the different key names from :class:`CancelWire`."""

    asset: Asset
    cloid: Cloid


class ModifyWire(_Wire, frozen=True):
    """One entry of batchModify: ``oid`` is an int oid or a cloid string."""

    oid: Uint64 | Cloid
    order: OrderWire


class L1ActionBase(_Wire, tag_field="type", frozen=True):
    """Base of L1 actions: the ``type`` tag is encoded first."""


class OrderAction(L1ActionBase, tag="order", frozen=True):
    """Place orders (batch). ``grouping`` "normalTpsl"/"positionTpsl" attaches TP/SL orders."""

    orders: tuple[OrderWire, ...]
    grouping: Grouping  # required: omit_defaults would drop a defaulted "na" from the hash
    builder: BuilderFee | None = None


class CancelAction(L1ActionBase, tag="cancel", frozen=True):
    """Cancel orders by oid."""

    cancels: tuple[CancelWire, ...]


class CancelByCloidAction(L1ActionBase, tag="cancelByCloid", frozen=True):
    """Cancel orders by client order id."""

    cancels: tuple[CancelByCloidWire, ...]


class ModifyAction(L1ActionBase, tag="modify", frozen=True):
    """Replace one order (by oid or cloid) with ``order``."""

    oid: Uint64 | Cloid
    order: OrderWire


class BatchModifyAction(L1ActionBase, tag="batchModify", frozen=True):
    """Replace several orders."""

    modifies: tuple[ModifyWire, ...]


class ScheduleCancelAction(L1ActionBase, tag="scheduleCancel", frozen=True):
    """Dead-man switch: cancel all at UTC ms ``time`` (>= now + 5 s); ``None`` removes it."""

    time: Uint64 | None = None


class UpdateLeverageAction(L1ActionBase, tag="updateLeverage", frozen=True):
    """Set leverage and cross/isolated mode for an asset."""

    asset: Asset
    is_cross: bool = field(name="isCross")
    leverage: Annotated[int, Meta(ge=1)]


class UpdateIsolatedMarginAction(L1ActionBase, tag="updateIsolatedMargin", frozen=True):
    """Add (ntli > 0) or remove (< 0) isolated margin, in micro-USD (USD * 1e6)."""

    asset: Asset
    is_buy: bool = field(name="isBuy")
    ntli: Int64


class NoopAction(L1ActionBase, tag="noop", frozen=True):
    """Burns a nonce (invalidates an in-flight action signed with that nonce)."""


L1Action = (
    OrderAction
    | CancelAction
    | CancelByCloidAction
    | ModifyAction
    | BatchModifyAction
    | ScheduleCancelAction
    | UpdateLeverageAction
    | UpdateIsolatedMarginAction
    | NoopAction
)
# The wire "type" of every L1 action (the rest of /exchange actions are user-signed).
L1_ACTION_TYPES: frozenset[str] = frozenset(cls.__struct_config__.tag for cls in get_args(L1Action))


class UserSignedActionBase(
    msgspec.Struct, frozen=True, forbid_unknown_fields=True, tag_field="type", kw_only=True
):
    """Base of user-signed actions: every field is encoded; chain fields trail like the SDK's."""


class UsdSendAction(UserSignedActionBase, tag="usdSend", frozen=True):
    """Send USDC on Hyperliquid to ``destination`` (hashed as a string: case matters)."""

    destination: AnyCaseAddress
    amount: DecimalString
    time: Uint64
    signature_chain_id: str = field(name="signatureChainId")
    hyperliquid_chain: HyperliquidChain = field(name="hyperliquidChain")


class Withdraw3Action(UserSignedActionBase, tag="withdraw3", frozen=True):
    """Withdraw USDC to ``destination`` on Arbitrum (primary type ``Withdraw``)."""

    destination: AnyCaseAddress
    amount: DecimalString
    time: Uint64
    signature_chain_id: str = field(name="signatureChainId")
    hyperliquid_chain: HyperliquidChain = field(name="hyperliquidChain")


class UsdClassTransferAction(UserSignedActionBase, tag="usdClassTransfer", frozen=True):
    """Move USDC between spot and perp; ``amount`` may carry a ``" subaccount:<addr>"`` suffix."""

    amount: Annotated[str, Meta(pattern=r"^[0-9]+(\.[0-9]+)?( subaccount:0x[0-9a-fA-F]{40})?$")]
    to_perp: bool = field(name="toPerp")
    nonce: Uint64
    signature_chain_id: str = field(name="signatureChainId")
    hyperliquid_chain: HyperliquidChain = field(name="hyperliquidChain")


class ApproveAgentAction(
    UserSignedActionBase, tag="approveAgent", omit_defaults=True, kw_only=True, frozen=True
):
    """Authorise an agent (API) wallet.

    An unnamed agent signs ``agentName=""`` and the SDK omits the key from the posted JSON; the
    default ``""`` reproduces both (omit_defaults only affects this one defaulted field).
    """

    agent_address: AnyCaseAddress = field(name="agentAddress")
    agent_name: str = field(default="", name="agentName")
    nonce: Uint64
    signature_chain_id: str = field(name="signatureChainId")
    hyperliquid_chain: HyperliquidChain = field(name="hyperliquidChain")


class ApproveBuilderFeeAction(UserSignedActionBase, tag="approveBuilderFee", frozen=True):
    """Allow ``builder`` to charge up to ``max_fee_rate`` (e.g. ``"0.001%"``)."""

    max_fee_rate: str = field(name="maxFeeRate")
    builder: AnyCaseAddress
    nonce: Uint64
    signature_chain_id: str = field(name="signatureChainId")
    hyperliquid_chain: HyperliquidChain = field(name="hyperliquidChain")


UserSignedAction = (
    UsdSendAction | Withdraw3Action | UsdClassTransferAction | ApproveAgentAction | ApproveBuilderFeeAction
)


class Signature(msgspec.Struct, frozen=True):
    """Wire signature: r and s as ``0x`` + 64 hex digits, v in {27, 28}."""

    r: str
    s: str
    v: int


class ExchangeRequest(msgspec.Struct, frozen=True):
    """Body of ``POST /exchange``; encode with ``msgspec.json.encode`` to post the exact signed strings."""

    action: L1Action | UserSignedAction
    nonce: int
    signature: Signature
    vault_address: str | None = field(default=None, name="vaultAddress")
    expires_after: int | None = field(default=None, name="expiresAfter")
