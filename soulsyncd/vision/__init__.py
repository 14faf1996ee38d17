"""Seeing the listener: frame sources, the face detector and the emotion classifier."""
