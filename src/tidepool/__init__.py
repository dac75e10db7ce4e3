"""Tidepool: a local exchange that speaks Pacifica's signed REST API."""

__version__ = "0.1.0"
