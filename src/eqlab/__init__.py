"""eqlab: symmetry in neural networks.

Build layers that are equivariant to a finite group, check whether a layer or a network really is,
measure how a trained network encodes a symmetry, and learn how much symmetry each layer should have.

>>> import eqlab
>>> eqlab.groups.dihedral(5).order
10
"""

from importlib.metadata import PackageNotFoundError, version

from eqlab import groups, sharing, testing

try:
    __version__ = version("eqlab")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"

__all__ = ["__version__", "groups", "sharing", "testing"]
