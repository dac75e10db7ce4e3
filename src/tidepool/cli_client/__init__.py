"""`tidepool` commands that talk to an exchange through `tidepool.client`: Tidepool's own server
(the default, http://127.0.0.1:7700) or Pacifica itself (`--url`).

    tidepool keygen [--out FILE]
    tidepool order create --symbol BTC --side bid --price 99000 --amount 0.001
    tidepool order market|stop|cancel|cancel-all ...
    tidepool orders | positions | account
    tidepool book BTC                   # a table redrawn on each WebSocket push of the book
    tidepool watch book symbol=BTC      # each push of a WebSocket subscription, a JSON line
    tidepool faucet|balance|mark|time|snapshot|revert|reset ...   # a Tidepool server's sandbox

Every command but keygen takes the connection options (`options`): `--url` (or TIDEPOOL_URL),
`--key-file` (or TIDEPOOL_KEY), `--agent-key`, `--account`, and `--json`, which makes stdout one
JSON document (an error too: `{"error": {...}}`) for scripts. The sandbox commands sign nothing:
they take only `--url` and `--json`. People get a rich table or a short
line, in plain text when stdout is not a terminal. `book` and `watch` take `--ws-url` too and run
on `WebSocketClient`, which reconnects and subscribes again after a drop.

Exit codes, for scripts:

    0  done
    1  the exchange refused: an error answer, whose message is printed as one line
    2  usage: bad arguments, no key where one is needed, a key that cannot be read
    3  transport: no answer (after the client's retries), or an answer that is not Pacifica's
       (a sandbox command then says how to start a Tidepool server)
   130 interrupted (Ctrl-C); `book` and `watch` stop with 0, as Ctrl-C is how they end

Never a traceback for any of these: `run` (dispatch.py) turns each into its line and code.
"""

from tidepool.cli_client.dispatch import (
    COMMANDS,
    EXIT_API,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_TRANSPORT,
    EXIT_USAGE,
    add_commands,
    run,
)

__all__ = [
    "COMMANDS",
    "EXIT_API",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_TRANSPORT",
    "EXIT_USAGE",
    "add_commands",
    "run",
]
