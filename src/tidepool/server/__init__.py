"""Composition: build the exchange, boot the server, the gateway worker processes and their
link."""
