"""Attribution: what is known about addresses (labels, tags) from files people share."""

from counterflow.attribution.tagpack import Tag, TagPack, load_tagpack, load_tagpacks

__all__ = ["Tag", "TagPack", "load_tagpack", "load_tagpacks"]
