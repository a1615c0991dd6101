"""Loyalty engine for points of sale."""

__version__ = "0.1.0"
