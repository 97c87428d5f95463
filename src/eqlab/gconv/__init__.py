"""p4 / p4m group convolutions (Cohen & Welling 2016): lifting and group convolutions, pooling over
space and over the group axis, group batch norm, and the action of the point group on feature maps.
"""

from eqlab.gconv._conv import GroupConv2d, LiftingConv2d
from eqlab.gconv._pointgroup import GROUPS, PointGroup, point_group
from eqlab.gconv._pool import GroupAvgPool2d, GroupBatchNorm2d, GroupMaxPool2d, GroupPool

__all__ = [
    "GROUPS",
    "GroupAvgPool2d",
    "GroupBatchNorm2d",
    "GroupConv2d",
    "GroupMaxPool2d",
    "GroupPool",
    "LiftingConv2d",
    "PointGroup",
    "point_group",
]
