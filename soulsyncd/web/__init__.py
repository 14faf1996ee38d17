"""The local status page: a tornado server on its own thread (``server``), its settings (``settings``),
who may use it (``auth``), the timeline's history and SVG (``history``, ``plot``), and what the page
shows (``view``). The page itself (``static/``) is one HTML file, one script and one stylesheet."""
