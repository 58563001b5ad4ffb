"""Errors a user can cause and fix. The CLI and the web API print these as messages, not tracebacks."""


class LmmApaError(Exception):
    """Base class: anything raised as this is a user-facing problem with a clear message."""


class AudioError(LmmApaError):
    """Audio that cannot be scored: missing, unreadable, empty, silent or too long."""


class LexiconError(LmmApaError):
    """A word that has no pronunciation (not in the dictionary and no letter-to-sound fallback)."""


class DataError(LmmApaError):
    """A corpus folder or predictions file that is missing or malformed."""


class ConfigError(LmmApaError):
    """A setting that cannot be used: an unknown key or choice, a bad value, a missing config file."""


class ModelError(LmmApaError):
    """A model part that is missing or does not load (names the part and how to get it)."""


class InputError(LmmApaError, ValueError):
    """An argument of the Python API that cannot be used (a wrong type, an empty text, an unknown
    option); the message names the argument. Also a ValueError, as Python's own checks raise."""
