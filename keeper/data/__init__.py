"""Files the package ships and reads at run time: the IDL, example profiles, golden traces.

Everything is found through `importlib.resources`, so a wheel installed anywhere
(`pip install .`, `pipx`) reads the same files as a checkout. pip and pipx install
packages as directories; a resource that is not a plain file (a zipped install)
is refused with a sentence instead of a confusing failure later.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

__all__ = ["bundled_path"]


def bundled_path(*parts: str) -> Path:
    """The shipped file or folder `keeper/data/<parts...>` as a filesystem path."""
    resource = files(__name__).joinpath(*parts)
    if not isinstance(resource, Path):
        raise FileNotFoundError(
            f"keeper.data/{'/'.join(parts)} is not on the file system ({resource!r}); "
            "install the package unzipped (pip install, not a zipapp)"
        )
    return resource
