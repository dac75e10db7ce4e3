"""API config keys (spec §3.7, A11): CreateApiKey (ApiKeyCreated), RevokeApiKey
(ApiKeyRevoked).

An API config key names its account in the `PF-API-KEY` header of REST requests and WebSocket
upgrades; the gateway looks the key up here, and meters its account's quota.

Invariants:
- `state.api_keys` maps every active key to its account, in creation order (what
  `list_api_keys` shows, oldest first); a key belongs to exactly one account.
- An account holds at most API_KEY_LIMIT active keys; the next create is a 422 naming the limit.
- Revoking a key that is not an active key of the account (unknown, already revoked, or
  another account's) is a 400 rejection; a rejected command changes nothing.
- Keys are drawn by the gateway and carried in the command: the engine draws nothing, so replay
  restores the same keys. A key already active (a duplicate draw) is refused, never shared.
"""

from __future__ import annotations

from tidepool.domain.errors import Reject
from tidepool.engine.commands import CreateApiKey, RevokeApiKey
from tidepool.engine.events import ApiKeyCreated, ApiKeyRevoked, Outcome
from tidepool.engine.lifecycle import Step
from tidepool.engine.state import EngineState

API_KEY_LIMIT = 5  # active keys per account (Pacifica's `api_key_limit`)


def keys_of(state: EngineState, account: str) -> list[str]:
    """The account's active keys, oldest first."""
    return [key for key, owner in state.api_keys.items() if owner == account]


def create_api_key(state: EngineState, step: Step, cmd: CreateApiKey) -> Outcome:
    if len(keys_of(state, cmd.account)) >= API_KEY_LIMIT:
        message = f"API key limit reached for {cmd.account}: {API_KEY_LIMIT}"
        return Outcome(events=[], reject=Reject(422, message, 422, "api_key_limit_reached"))
    if cmd.api_key in state.api_keys:
        message = "Invalid parameters: API key already exists"
        return Outcome(events=[], reject=Reject(400, message, 400, "invalid_parameters"))
    state.api_keys[cmd.api_key] = cmd.account
    created = ApiKeyCreated(seq=cmd.seq, ts_ms=cmd.ts_ms, account=cmd.account, api_key=cmd.api_key)
    return Outcome(events=[created])


def revoke_api_key(state: EngineState, step: Step, cmd: RevokeApiKey) -> Outcome:
    if state.api_keys.get(cmd.api_key) != cmd.account:
        message = f"API key {cmd.api_key} is not an active key of account {cmd.account}"
        return Outcome(events=[], reject=Reject(400, message, 400, "api_key_not_found"))
    del state.api_keys[cmd.api_key]
    revoked = ApiKeyRevoked(seq=cmd.seq, ts_ms=cmd.ts_ms, account=cmd.account, api_key=cmd.api_key)
    return Outcome(events=[revoked])
