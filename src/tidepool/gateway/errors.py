"""How the gateway refuses a request before the engine sees it: each exception carries the
error envelope REST answers with; the subclasses let WebSocket pick its own codes (spec A9)."""

from __future__ import annotations

from tidepool.domain.errors import Reject
from tidepool.gateway.envelope import Response, rejected


class WireError(Exception):
    """A request the gateway refuses before it reaches the engine; carries its error envelope."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.body.decode())
        self.response = response


class Rejected(WireError):
    """A business rejection found before the engine (an unknown symbol): its 422 envelope, and
    the Reject itself, which a batch reports as that action's result."""

    def __init__(self, reject: Reject) -> None:
        super().__init__(rejected(reject))
        self.reject = reject


class SignatureRefused(WireError):
    """A signature problem (spec §1.3): REST answers it 400, WebSocket 401 (spec A9)."""


class InvalidSigner(SignatureRefused):
    """The account or agent key is not a public key ("Invalid public key"): REST answers it 400
    like every signature problem, WebSocket 402 invalid signer (spec A9)."""


class AgentNotAuthorized(WireError):
    """An agent signing what only the account's own key may sign: REST 400, WebSocket 403."""
