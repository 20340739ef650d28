"""Where citewire keeps its data, and the few settings that are not per-command flags.

Precedence (lowest first): built-in defaults < ``CITEWIRE_*`` environment variables < explicit
arguments (the CLI's ``--home`` and flags). The data directory holds one index; point
``CITEWIRE_HOME`` (or ``--home``) at different folders to keep several indexes side by side.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

from citewire.errors import ConfigError

HOME_ENV = "CITEWIRE_HOME"
DEBUG_ENV = "CITEWIRE_DEBUG"


def resolve_home(home: str | os.PathLike[str] | None = None) -> Path:
    """The data directory: ``home`` if given, else $CITEWIRE_HOME, else the per-user data dir."""
    chosen = home if home is not None else os.environ.get(HOME_ENV) or None
    path = Path(chosen) if chosen else Path(platformdirs.user_data_dir("citewire", appauthor=False))
    path = path.expanduser()
    if path.exists() and not path.is_dir():
        raise ConfigError(
            f"data directory {path} exists and is not a folder",
            hint=f"pass --home or set {HOME_ENV} to a folder",
        )
    return path


def debug_enabled() -> bool:
    return os.environ.get(DEBUG_ENV, "") not in ("", "0", "false", "no")
