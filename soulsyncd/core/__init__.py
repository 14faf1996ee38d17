"""The analysis loop and its one way in (commands) and one way out (state snapshots, events)."""
