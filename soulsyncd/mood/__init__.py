"""From per-frame scores to a mood, and from the mood to the music it calls for."""
