"""soulsyncd: an edge daemon that matches or shifts Spotify playback to the listener's mood."""

__version__ = "0.1.0"
