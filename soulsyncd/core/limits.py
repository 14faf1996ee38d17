"""The analysis loop's limits, declared once: the loop checks them and the config's schema uses them."""

ANALYSIS_FPS_MIN = 0.1  # one frame in 10 s still sees a face within the smoothing window's reach
ANALYSIS_FPS_MAX = 60.0  # beyond any camera here; 1 / fps must stay a sane tick interval
PLAYER_MIN_INTERVAL_S_MAX = 3600.0  # an hour between changes of music is already no mood-following
