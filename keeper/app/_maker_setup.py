"""The live market maker from the config: `[strategy]` and `[risk]` plus the venue's market spec.

Every knob is a field of `[strategy]` (`keeper.core.strategy_config.StrategyConfig`), and the maker is
built by the same `keeper.core.strategy_config.maker_params` the simulator uses, so a scenario and a
deployment with the same `[strategy]` run the same maker. The intensity prior (A, k) holds until it is
calibrated from our own fills; the fee rates are the strategy's until the venue reports its own.
"""

from __future__ import annotations

from keeper.config import ConfigError, KeeperConfig
from keeper.core import strategy_config
from keeper.core.quote import SettlementModel
from keeper.core.risk import RiskLimits
from keeper.core.strategy import MakerParams, MarketMaker
from keeper.core.venue import MarketSpec


def maker_params(config: KeeperConfig, spec: MarketSpec, mid: float) -> MakerParams:
    """Maker parameters for `spec`'s market at a mid of `mid` (it sizes k and an unset max_position).

    Raises:
        ConfigError: the strategy cannot quote on this market (the field is named).
    """
    try:
        return strategy_config.maker_params(
            config.strategy,
            tick=spec.tick,
            lot=spec.lot,
            mid=mid,
            max_position_notional_usd=config.risk.max_position_notional_usd,
            market=spec.market,
        )
    except strategy_config.StrategyError as exc:
        raise ConfigError("(strategy)", exc.field, exc.reason) from None


def reloaded_params(
    old: KeeperConfig, new: KeeperConfig, running: MakerParams | None, mid: float | None
) -> MakerParams | None:
    """The parameters a hot edit gives the running maker (`running`; None: no quoting), or None when the
    edit does not touch them.

    Applied at run time: every field of `[strategy]` but the restart-only ones, and a new
    risk.max_position_notional_usd under an unset max_position. The rebuild keeps the venue's current
    tick and lot (from `running`) and sizes k and an unset max_position at `mid`, the latest mid (None:
    the mid `running` was built at).

    Raises:
        ConfigError: a restart-only field changed, or the new strategy cannot quote on this market; the
            reload is refused whole and the running config stays.
    """
    for name in strategy_config.RESTART_ONLY:
        if getattr(new.strategy, name) != getattr(old.strategy, name):
            raise ConfigError("(reload)", f"strategy.{name}", "needs a restart")
    notional = new.risk.max_position_notional_usd
    resized = new.strategy.max_position is None and notional != old.risk.max_position_notional_usd
    if running is None or (new.strategy == old.strategy and not resized):
        return None
    try:
        return strategy_config.maker_params(
            new.strategy,
            tick=running.quote.tick,
            lot=running.quote.lot,
            mid=strategy_config.built_at_mid(running, old.strategy) if mid is None else mid,
            max_position_notional_usd=notional,
            market=running.market,
        )
    except strategy_config.StrategyError as exc:
        raise ConfigError("(reload)", exc.field, exc.reason) from None


def build_maker(
    config: KeeperConfig, spec: MarketSpec, mid: float, settlement: SettlementModel, limits: RiskLimits
) -> MarketMaker:
    return MarketMaker(maker_params(config, spec, mid), settlement, limits)


__all__ = ["build_maker", "maker_params", "reloaded_params"]
