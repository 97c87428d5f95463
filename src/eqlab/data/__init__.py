"""Data that needs no download: bundled digits, generated variants and sets; local MNIST/CIFAR-10 loaders."""

from eqlab.data._digits import digits, paste_in_quadrants, rotated_digits
from eqlab.data._files import MNIST_FILES, load_cifar10, load_mnist, read_idx
from eqlab.data._sets import gaussian_scale_sets
from eqlab.data._transforms import hflip, rot90, rotate, rotate_batch, vflip

__all__ = [
    "MNIST_FILES",
    "digits",
    "gaussian_scale_sets",
    "hflip",
    "load_cifar10",
    "load_mnist",
    "paste_in_quadrants",
    "read_idx",
    "rot90",
    "rotate",
    "rotate_batch",
    "rotated_digits",
    "vflip",
]
