"""Tests: transports."""
