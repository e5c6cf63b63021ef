"""User-facing errors: one line, no traceback (dodo.py turns them into exit status 2)."""


class WasmbuildError(Exception):
    """An error whose message is meant for the user as it is."""


class ConfigError(WasmbuildError):
    """A YAML file is wrong: the message names the file and the key."""

    def __init__(self, file, key, message):
        self.file, self.key = str(file), key
        where = f"{self.file}: {key}: " if key else f"{self.file}: "
        super().__init__(where + message)


class ToolchainError(WasmbuildError):
    """No usable toolchain: the message says how to get one."""


class SourceError(WasmbuildError):
    """The CPython source (or a dependency's source) is unusable."""
