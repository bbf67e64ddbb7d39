"""Errors raised by the plugin manager and the registry."""

from __future__ import annotations


class PluginError(Exception):
    """Base class of the plugin system's errors."""


class PluginLoadError(PluginError):
    """A plugin failed to load while ``NEMO_PLUGINS_STRICT=1`` (otherwise the failure is only recorded)."""


class DuplicateRegistrationError(PluginError):
    """Two plugins registered the same model, command or pretrained name; the message names every provider."""
