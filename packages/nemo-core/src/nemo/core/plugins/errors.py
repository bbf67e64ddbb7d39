"""Errors raised by the plugin manager and the registry."""

from __future__ import annotations


class PluginError(Exception):
    """Base class of the plugin system's errors."""


class PluginLoadError(PluginError):
    """A plugin failed to load while ``NEMO_PLUGINS_STRICT=1`` (otherwise the failure is only recorded)."""


class DuplicateRegistrationError(PluginError):
    """A model, command or pretrained name that several plugins register, none of them preferred or ours, was asked
    for; the message names every provider and how to choose one (``NEMO_PLUGINS_PREFER``)."""
