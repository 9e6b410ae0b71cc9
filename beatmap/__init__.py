"""beatmap: find and rank the online venues where each police beat's residents gather."""

__version__ = "0.1.0"
