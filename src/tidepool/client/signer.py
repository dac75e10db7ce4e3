"""What signs a client's operations, whatever wire carries them: the account's key or an agent
wallet's, the signature's expiry window and clock.

`BaseClient` (REST) and `WebSocketClient` both inherit it, so an operation's signed body is built
in one place: REST posts `body(call)`, the WebSocket sends the same object under
`params[<operation>]` (spec §5.4: signing is identical on both wires).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypedDict

from solders.keypair import Keypair

from tidepool.client.calls import Action, Batch
from tidepool.client.keys import KeySource, load_keypair
from tidepool.pacifica import signed_body

__all__ = ["KeyOptions", "Signer"]


class KeyOptions(TypedDict, total=False):
    """The signing options every client takes."""

    key: KeySource | None  # the account's own secret key
    agent_key: KeySource | None  # an agent wallet's secret key: it signs instead of `key`
    account: str | None  # the account's address; defaults to `key`'s public key
    expiry_window: int | None  # ms a signature stays valid; None leaves it out (server: 30 s)
    clock: Callable[[], int]  # ms since the epoch for signatures; default the system clock


def _system_ms() -> int:
    return time.time_ns() // 1_000_000


class Signer:
    def __init__(self, options: KeyOptions) -> None:
        key, agent_key = options.get("key"), options.get("agent_key")
        self._key: Keypair | None = None if key is None else load_keypair(key)
        self._agent: Keypair | None = None if agent_key is None else load_keypair(agent_key)
        account = options.get("account")
        if account is None and self._key is not None:
            account = str(self._key.pubkey())
        if self._agent is not None and account is None:
            raise ValueError("an agent key signs for an account: pass account= or key=")
        self.address: str | None = account
        self.expiry_window = options.get("expiry_window", 5000)
        self._clock = options.get("clock", _system_ms)

    def _own_account(self) -> str:
        if self.address is None:
            raise ValueError("this client has no account: pass key=, or account= to the call")
        return self.address

    def _sign(self, action: Action[Any]) -> dict[str, Any]:
        signer, agent = self._key, None
        if self._agent is not None and not action.main_key:
            signer, agent = self._agent, str(self._agent.pubkey())
        if signer is None:
            needs = "the account's own key (key=)" if action.main_key else "a key"
            raise ValueError(f"{action.op_type} must be signed with {needs}")
        return signed_body(
            signer,
            action.op_type,
            action.payload,
            timestamp=self._clock(),
            expiry_window=self.expiry_window,
            account=self._own_account(),
            agent_wallet=agent,
        )

    def _body(self, call: Action[Any] | Batch) -> Any:
        """The signed JSON body of an operation, signed now (each attempt gets a fresh
        timestamp); a batch signs each of its actions on its own (spec §2.9)."""
        if isinstance(call, Batch):
            return {
                "actions": [{"type": a.batch_action, "data": self._sign(a)} for a in call.actions]
            }
        return self._sign(call)
