"""``soulsyncd mqtt-discovery --config FILE [--remove]``: show or clear the Home Assistant entities.

Without ``--remove`` it prints every discovery message (topic, a space, the JSON payload; one per
line) and needs no broker. With ``--remove`` it connects to the configured broker and publishes an
empty retained payload on every discovery topic and every retained state topic, so Home Assistant
drops the device (stop the daemon first, or it announces itself again on its next connect).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from soulsyncd.config import EXIT_CONFIG

if TYPE_CHECKING:
    from soulsyncd.mqtt.settings import MqttConfig

CONNECT_TIMEOUT_S = 10.0
PUBLISH_TIMEOUT_S = 5.0

log = logging.getLogger(__name__)


def add_commands(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``mqtt-discovery`` to the CLI."""
    parser = sub.add_parser(
        "mqtt-discovery",
        help="print the Home Assistant discovery messages (no broker needed), or --remove them",
    )
    parser.add_argument("--config", "-c", type=Path, default=None,
                        help="YAML config file (default: $SOULSYNC_CONFIG, else /etc/soulsyncd/config.yaml)")
    parser.add_argument("--remove", action="store_true",
                        help="publish empty retained payloads to the broker so Home Assistant drops the "
                        "entities and the retained state")
    parser.set_defaults(handler=discovery_command)


def discovery_command(args: argparse.Namespace) -> int:
    from soulsyncd.config import ConfigError, load_config
    from soulsyncd.mqtt.discovery import DiscoveryInfo, discovery_messages

    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return EXIT_CONFIG
    info = DiscoveryInfo.from_config(config.mqtt)
    if not args.remove:
        for message in discovery_messages(info, device=config.mqtt.device_discovery):
            print(message.topic, message.encoded().decode())
        return os.EX_OK
    return remove(config.mqtt)


def removal_topics(config: MqttConfig) -> list[str]:
    """Every retained topic the daemon may have left: discovery configs (both forms), availability and
    state."""
    from soulsyncd.mqtt import state as st
    from soulsyncd.mqtt.discovery import DiscoveryInfo, removal_messages

    topics = [message.topic for message in removal_messages(DiscoveryInfo.from_config(config))]
    names = (*st.STATE_TOPICS, st.DIAGNOSTICS, st.AVAILABILITY)
    return topics + [f"{config.topic}/{name}" for name in names]


def remove(config: MqttConfig) -> int:
    """Connect once, clear every retained topic, disconnect. 0 when done, 69 when the broker is away."""
    from paho.mqtt import client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    from soulsyncd.config import read_secret

    v5 = config.protocol == "5"
    client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2,
                         client_id=f"{config.effective_client_id}-cli",
                         protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311, clean_session=None if v5 else True)
    if config.username is not None:
        client.username_pw_set(config.username, read_secret("mqtt-password"))
    if config.tls:
        client.tls_set(ca_certs=None if config.ca_file is None else str(config.ca_file),
                       certfile=None if config.certfile is None else str(config.certfile),
                       keyfile=None if config.keyfile is None else str(config.keyfile))
    connected = threading.Event()
    client.on_connect = lambda _c, _u, _f, reason, _p: None if reason.is_failure else connected.set()
    try:
        client.connect_async(config.host, config.port, keepalive=config.keepalive)
        client.loop_start()
        if not connected.wait(CONNECT_TIMEOUT_S):
            print(f"cannot connect to the MQTT broker at {config.host}:{config.port}", file=sys.stderr)
            return os.EX_UNAVAILABLE
        infos = [(topic, client.publish(topic, b"", qos=1, retain=True)) for topic in removal_topics(config)]
        for topic, info in infos:
            info.wait_for_publish(PUBLISH_TIMEOUT_S)  # a one-shot command may wait; the daemon never does
            if not info.is_published():
                print(f"not confirmed by the broker: {topic}", file=sys.stderr)
                return os.EX_UNAVAILABLE
            print(f"cleared {topic}")
        return os.EX_OK
    finally:
        client.disconnect()
        client.loop_stop()
