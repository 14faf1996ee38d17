"""The daemon as a system service: systemd notification and watchdog (``notify``), logging to the
journal with structured fields and secret redaction (``logs``)."""
