"""The installed version of eqlab, read once from the package metadata."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("eqlab")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"
