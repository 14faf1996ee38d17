"""MQTT and Home Assistant: state out, commands in, discovery.

``client`` is the bridge (a :class:`~soulsyncd.core.handle.Service` with its own threads), ``state``
and ``discovery`` turn snapshots and config into topics and payloads (pure functions), ``commands``
is the table of command topic -> core command, ``cli`` the ``mqtt-discovery`` command.
"""
