"""Data that needs no download: scikit-learn's bundled digits at any size and generated variants
(rotated, pasted in quadrants), generated set data, and loaders for MNIST and CIFAR-10 files kept in a
local folder.

.. include:: README.md
"""

from eqlab.data._digits import digits, paste_in_quadrants, rotated_digits
from eqlab.data._files import load_cifar10, load_mnist
from eqlab.data._sets import gaussian_scale_sets

__all__ = [
    "digits",
    "gaussian_scale_sets",
    "load_cifar10",
    "load_mnist",
    "paste_in_quadrants",
    "rotated_digits",
]
