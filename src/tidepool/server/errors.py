"""Why a server does not start, said to the operator."""

from __future__ import annotations


class CannotStart(Exception):
    """An operator's mistake found at start-up; the message says what is wrong and what to do
    (the command line prints it as one line, never a traceback)."""
