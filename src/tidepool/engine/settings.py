"""UpdateLeverage and UpdateMarginMode: an account's per-market margin settings (spec §4.7).

Semantics:
- Every market starts at cross margin and the market's maximum leverage; only markets that
  differ from that default have a MarginSetting (and are listed by /account/settings).
- Leverage is an integer in 1..max_leverage (else 422 code 11 "Invalid leverage"). Lowering it
  while a position is open in the market is 422 code 11 "Cannot decrease leverage with open
  position.: {leverage}"; raising it is always allowed. Margin held by positions and open
  orders is notional / the account's leverage in that market (risk.py).
- The margin mode cannot change while a position is open in the market: 422 code 12.
  Isolated mode is recorded and reported (positions show `isolated: true`); collateral is still
  checked across the whole account, as for cross (no separate isolated margin, since
  liquidations are not modelled).
- Success emits MarginSettingChanged, also when nothing changed.
"""

from __future__ import annotations

from tidepool.domain.errors import Code, Reject, book_not_found
from tidepool.engine.accounts import Account, MarginSetting
from tidepool.engine.commands import UpdateLeverage, UpdateMarginMode
from tidepool.engine.events import MarginSettingChanged, Outcome
from tidepool.engine.lifecycle import Step
from tidepool.engine.risk import leverage
from tidepool.engine.state import EngineState


def update_leverage(state: EngineState, step: Step, cmd: UpdateLeverage) -> Outcome:
    spec = state.markets.get(cmd.symbol)
    if spec is None:
        return Outcome(events=[], reject=book_not_found(cmd.symbol))
    if not 1 <= cmd.leverage <= spec.max_leverage:
        message = f"Invalid leverage: {cmd.leverage} (max {spec.max_leverage})"
        return Outcome(events=[], reject=Reject(Code.INVALID_LEVERAGE, message))
    account = state.accounts.get(cmd.account)
    current = leverage(state, account, cmd.symbol)
    if cmd.leverage < current and account is not None and account.position_size(cmd.symbol):
        message = f"Cannot decrease leverage with open position.: {cmd.leverage}"
        return Outcome(events=[], reject=Reject(Code.INVALID_LEVERAGE, message))
    account = state.account(cmd.account)
    setting = _setting(state, account, cmd.symbol, cmd.ts_ms)
    setting.leverage = cmd.leverage
    return _changed(state, account, cmd.symbol, setting, cmd.seq, cmd.ts_ms)


def update_margin_mode(state: EngineState, step: Step, cmd: UpdateMarginMode) -> Outcome:
    if cmd.symbol not in state.markets:
        return Outcome(events=[], reject=book_not_found(cmd.symbol))
    account = state.accounts.get(cmd.account)
    if account is not None and account.position_size(cmd.symbol):
        message = (
            f"Cannot update margin with open position for {cmd.account}: "
            f"isolated {str(cmd.is_isolated).lower()}"
        )
        return Outcome(events=[], reject=Reject(Code.CANNOT_UPDATE_MARGIN, message))
    account = state.account(cmd.account)
    setting = _setting(state, account, cmd.symbol, cmd.ts_ms)
    setting.isolated = cmd.is_isolated
    return _changed(state, account, cmd.symbol, setting, cmd.seq, cmd.ts_ms)


def _setting(state: EngineState, account: Account, symbol: str, ts_ms: int) -> MarginSetting:
    setting = account.settings.get(symbol)
    if setting is None:
        setting = MarginSetting(state.markets[symbol].max_leverage, False, ts_ms, ts_ms)
        account.settings[symbol] = setting
    setting.updated_at = ts_ms
    return setting


def _changed(
    state: EngineState,
    account: Account,
    symbol: str,
    setting: MarginSetting,
    seq: int,
    ts_ms: int,
) -> Outcome:
    if setting.leverage == state.markets[symbol].max_leverage and not setting.isolated:
        del account.settings[symbol]  # back to the default: not listed any more
    event = MarginSettingChanged(
        seq=seq,
        ts_ms=ts_ms,
        account=account.address,
        symbol=symbol,
        leverage=setting.leverage,
        isolated=setting.isolated,
    )
    return Outcome(events=[event])
