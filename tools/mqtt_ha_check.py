#!/usr/bin/env python3
"""Check soulsyncd's entities in a real Home Assistant (outside CI; needs a Home Assistant install).

Home Assistant 2025.4.4 on Python 3.13.0 (the newest release pip offers 3.13.0; 2025.5 to 2026.2 ask
for 3.13.2 or later, which Raspberry Pi OS Trixie's 3.13.5 is), entity and device discovery; the extra
pins are what it would otherwise install by itself at its first start (frontend, auth modules)::

    python3.13 -m venv /tmp/ha313 && /tmp/ha313/bin/pip install homeassistant==2025.4.4 \\
        paho-mqtt==2.1.0 home-assistant-frontend==20250411.0 PyQRCode==1.2.1 pyotp==2.8.0
    .venv/bin/python tools/mqtt_ha_check.py --hass /tmp/ha313/bin/hass --mode entity
    .venv/bin/python tools/mqtt_ha_check.py --hass /tmp/ha313/bin/hass --mode device

Home Assistant 2026.2.3, the newest pip offers Python 3.13.5 (later ones ask for more). It asks for 3.13.2: on
Trixie's 3.13.5 the pip line alone does; on 3.13.0 it takes pip's ``--ignore-requires-python`` and
its own start-up gate lowered in that throw-away venv (checked so here, both modes passed)::

    python3.13 -m venv /tmp/ha2026 && /tmp/ha2026/bin/pip install --ignore-requires-python \\
        homeassistant==2026.2.3 paho-mqtt==2.1.0 home-assistant-frontend==20260128.6 PyQRCode==1.2.1 \\
        pyotp==2.9.0
    sed -i 's/= (3, 13, 2)/= (3, 13, 0)/' /tmp/ha2026/lib/python3.13/site-packages/homeassistant/const.py
    .venv/bin/python tools/mqtt_ha_check.py --hass /tmp/ha2026/bin/hass --mode device

Home Assistant 2024.3.3 on Python 3.11 (entity discovery only: 2024.11 and later need 3.12)::

    python3.11 -m venv ha && ha/bin/pip install homeassistant==2024.3.3 paho-mqtt==1.6.1 \\
        aiohttp_cors==0.7.0 aiohttp-fast-url-dispatcher==0.3.0 aiohttp-zlib-ng==0.3.1 janus==1.0.0
    python tools/mqtt_ha_check.py --hass ha/bin/hass

Starts a mosquitto on a free loopback port, Home Assistant with the MQTT integration pointed at it
(discovery on), ``mqtt_statestream`` (every ``*.soulsync_*`` entity's state and attributes on
``hastate/...``) and one automation that calls any service it is sent on ``hatest/do``, then the
daemon (``soulsyncd run``, file camera with a happy face, ``mqtt.discovery_mode`` from ``--mode``).
It checks that the broker keeps the discovery configs of that form only (42 entity configs, or the
one ``homeassistant/device/<id>/config``), that every entity shows a
state, that select, switch, button, number and text actions in Home Assistant reach the daemon and
its new state comes back, and that the entities turn ``unavailable`` when the daemon stops (SIGTERM)
and when it is killed (the last will). Then what docs/home-assistant.md promises: enum sensors carry
their options, the chatty diagnostics are disabled by default, the mood and camera ``event`` entities
fire automations (written like the page's examples) with the event type, every command from Home
Assistant is answered on ``<base>/response``, the log-level select works, and the restart button ends
the daemon with exit status 75. On Home Assistant 2024.11 and later it then restarts the daemon in
the other discovery form and checks the switch: only the new form's configs are left retained, every
entity has a state again and commands still work; no entity id Home Assistant ever showed a state
for is a second copy (``..._mood_2``); and after Home Assistant stops, its entity registry holds
exactly the 31 entities, each once, on one device (and it says whether that device was kept through
the switch or made anew). Prints one line per check (and Home Assistant's own MQTT warnings and
errors, for reading); exit status 1 if any failed. ``--ha-log FILE`` keeps Home Assistant's log, MQTT
at debug level.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))

from soulsyncd.testing.mosquitto import Broker, Watcher  # noqa: E402

HA_CONFIG = """
homeassistant:
  name: soulsync check
  latitude: 0
  longitude: 0
  elevation: 0
  unit_system: metric
  time_zone: UTC
  country: DE
  currency: EUR
logger:
  default: warning
mqtt_statestream:
  base_topic: hastate
  publish_attributes: true
  include:
    entity_globs:
      - "*.soulsync_*"
automation:
  - alias: do
    mode: queued
    trigger:
      - platform: mqtt
        topic: hatest/do
    action:
      - service: "{{ trigger.payload_json.service }}"
        target:
          entity_id: "{{ trigger.payload_json.entity_id }}"
        data: "{{ trigger.payload_json.data | default({}) }}"
  - alias: event
    mode: queued
    trigger:
      - platform: state
        entity_id:
          - event.soulsync_living_room_mood_changed
          - event.soulsync_living_room_camera_changed
    condition:
      - "{{ trigger.from_state is not none and trigger.from_state.state != 'unavailable' }}"
      - "{{ trigger.to_state is not none and trigger.to_state.state not in ['unavailable', 'unknown'] }}"
    action:
      - service: mqtt.publish
        data:
          topic: "hatest/event/{{ trigger.entity_id }}"
          payload: "{{ trigger.to_state.attributes.event_type }}"
"""

ENTITIES = [f"{component}.soulsync_living_room_{key}" for component, key in [
    ("sensor", "mood"), ("sensor", "valence"), ("sensor", "arousal"), ("binary_sensor", "face"),
    ("sensor", "faces"), ("sensor", "now_playing"), ("sensor", "player_status"), ("select", "mode"),
    ("select", "target"), ("sensor", "shift_progress"), ("switch", "camera"), ("button", "skip"),
    ("button", "pause"), ("button", "resume"), ("binary_sensor", "paused"), ("text", "speaker"),
    ("number", "volume"), ("sensor", "camera_status"), ("sensor", "analysis_fps"), ("sensor", "last_error"),
    ("button", "restart"), ("select", "log_level"), ("event", "mood_changed"), ("event", "track_started"),
    ("event", "listener"), ("event", "camera_changed"),
]]
OPTIONS_SINCE = (2024, 9)  # the first release whose MQTT sensor takes ``options`` (core PR 123248)
DISABLED = [f"sensor.soulsync_living_room_{key}" for key in ("inference_ms", "detector_ms", "cpu", "memory",
                                                             "uptime")]
DEVICE_SINCE = (2024, 11)  # the first release that reads device-based discovery (one config per device)
ENTITY_CONFIGS = 42  # retained configs of the entity form: 31 entities and 11 device triggers
ENTITY_CONFIG = "homeassistant/+/living-room/+/config"
DEVICE_CONFIG = "homeassistant/device/living-room/config"


class Check:
    def __init__(self, watcher: Watcher) -> None:
        self.watcher = watcher
        self.failed = 0

    def state(self, entity: str) -> str:
        domain, object_id = entity.split(".")
        return self.watcher.last.get(f"hastate/{domain}/{object_id}/state", b"").decode()

    def expect(self, entity: str, wanted: Callable[[str], bool], what: str, timeout_s: float = 60) -> None:
        ok = self.watcher.wait_for(lambda _: wanted(self.state(entity)), timeout_s)
        self.failed += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {entity}: {what} (state {self.state(entity)!r})", flush=True)

    def available(self, entity: str, what: str, since: int = 0, timeout_s: float = 30) -> None:
        """Home Assistant published a state for ``entity`` (after message ``since``), not ``unavailable``;
        an empty text is a state too (its empty retained payload leaves nothing retained)."""
        domain, object_id = entity.split(".")
        topic = f"hastate/{domain}/{object_id}/state"

        def shown(watcher: Watcher) -> list[bytes]:
            return [m.payload for m in watcher.since(since) if m.topic == topic]

        ok = self.watcher.wait_for(lambda w: bool(shown(w)) and shown(w)[-1] != b"unavailable", timeout_s)
        self.failed += not ok
        last = shown(self.watcher)[-1:]
        print(f"{'ok  ' if ok else 'FAIL'} {entity}: {what} (state {last[0].decode() if last else None!r})",
              flush=True)

    def command(self, topic: str, timeout_s: float = 10) -> None:
        ok = self.watcher.wait_for(lambda w: bool(w.payloads(topic)), timeout_s)
        self.failed += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {topic}: {self.watcher.payloads(topic)}", flush=True)

    def attribute(self, entity: str, name: str) -> str:
        domain, object_id = entity.split(".")
        return self.watcher.last.get(f"hastate/{domain}/{object_id}/{name}", b"").decode()

    def note(self, ok: bool, what: str) -> None:
        self.failed += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {what}", flush=True)

    def do(self, service: str, entity: str, **data: object) -> None:
        self.watcher.publish("hatest/do", json.dumps({"service": service, "entity_id": entity, "data": data}))

    def configs(self, mode: str) -> None:
        """The broker keeps the discovery configs of ``mode`` and none of the other form."""
        wanted = (1, 0) if mode == "device" else (0, ENTITY_CONFIGS)
        ok = self.watcher.wait_for(lambda _: self._forms() == wanted, 30)
        device, entity = self._forms()
        self.note(ok, f"retained discovery configs: {device} of the device form, {entity} of the entity form "
                      f"({mode} mode wants {wanted[0]} and {wanted[1]})")

    def _forms(self) -> tuple[int, int]:
        retained = [topic for topic in self.watcher.retained if topic.endswith("/config")]
        device = sum(topic == DEVICE_CONFIG for topic in retained)
        return device, len(retained) - device

    def shown(self) -> None:
        """Every entity Home Assistant ever published a state for (statestream) is one of ours: a
        duplicate would show as a second id (``..._mood_2``)."""
        seen = {".".join(topic.split("/")[1:3]) for topic in self.watcher.last
                if topic.startswith("hastate/") and topic.endswith("/state")}
        extra = sorted(seen - set(ENTITIES + DISABLED))
        self.note(not extra, f"entities Home Assistant showed: {len(seen)}, none twice (not ours: {extra})")

    def registry(self, ha_dir: Path) -> None:
        """After Home Assistant stopped: its registries hold each entity once, under its id, on one device."""
        storage = ha_dir / ".storage"
        entries = json.loads((storage / "core.entity_registry").read_text())["data"]["entities"]
        ours = sorted(entry["entity_id"] for entry in entries if entry["platform"] == "mqtt")
        unique = [entry["unique_id"] for entry in entries if entry["platform"] == "mqtt"]
        extra = sorted(set(ours) - set(ENTITIES + DISABLED))
        missing = sorted(set(ENTITIES + DISABLED) - set(ours))
        self.note(ours == sorted(ENTITIES + DISABLED) and len(set(unique)) == len(unique),
                  f"entity registry: {len(ours)} MQTT entities ({len(ENTITIES + DISABLED)} wanted), "
                  f"{len(set(unique))} unique ids, not wanted: {extra}, missing: {missing}")
        devices = json.loads((storage / "core.device_registry").read_text())["data"]["devices"]
        ours_devices = [device["name"] for device in devices
                        if ["mqtt", "soulsync_living_room"] in device["identifiers"]]
        self.note(len(ours_devices) == 1,
                  f"device registry: {len(ours_devices)} SoulSync device(s) {ours_devices}")
        deleted = [device for device in json.loads((storage / "core.device_registry").read_text())["data"]
                   .get("deleted_devices", []) if ["mqtt", "soulsync_living_room"] in device["identifiers"]]
        fate = "removed and made anew" if deleted else "kept"
        print(f"info device registry: the SoulSync device was {fate} (a device made anew loses the area "
              "and name set on it in Home Assistant)", flush=True)


def main(argv: list[str] | None = None) -> int:  # noqa: PLR0912, PLR0915 -- one straight script
    from make_sample import render_video

    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hass", default="ha/bin/hass", help="the hass executable (default ha/bin/hass)")
    parser.add_argument("--ha-log", type=Path, help="keep Home Assistant's log here (MQTT at debug level)")
    parser.add_argument("--mode", choices=("entity", "device"), default="entity",
                        help="mqtt.discovery_mode for the checks; the other form is switched to at the end "
                             "(device needs Home Assistant 2024.11 or later; default entity)")
    args = parser.parse_args(argv)
    reported = subprocess.run([args.hass, "--version"], capture_output=True, text=True, check=True).stdout
    version = tuple(int(part) for part in reported.strip().split(".")[:2])
    print(f"Home Assistant {reported.strip()}, discovery mode {args.mode}", flush=True)
    if args.mode == "device" and version < DEVICE_SINCE:
        raise SystemExit(f"--mode device needs Home Assistant {'.'.join(map(str, DEVICE_SINCE))} or later")
    switch_to = "entity" if args.mode == "device" else "device" if version >= DEVICE_SINCE else None
    with tempfile.TemporaryDirectory() as folder_name:
        folder = Path(folder_name)
        broker = Broker(folder)
        broker.start()
        ha_dir = folder / "ha"
        (ha_dir / ".storage").mkdir(parents=True)
        debug = "  logs:\n    homeassistant.components.mqtt: debug\n" if args.ha_log else ""
        (ha_dir / "configuration.yaml").write_text(HA_CONFIG.replace("logger:\n  default: warning\n",
                                                                     f"logger:\n  default: warning\n{debug}"),
                                                   encoding="utf-8")
        entry = {"entry_id": "mqtt", "version": 1, "minor_version": 1, "domain": "mqtt", "title": "mqtt",
                 "data": {"broker": broker.host, "port": broker.port, "discovery": True}, "options": {},
                 "pref_disable_new_entities": False, "pref_disable_polling": False, "source": "user",
                 "unique_id": None, "disabled_by": None}
        (ha_dir / ".storage" / "core.config_entries").write_text(json.dumps(
            {"version": 1, "minor_version": 2, "key": "core.config_entries", "data": {"entries": [entry]}}))
        video = render_video(folder / "clip.avi", fps=10.0, size=(320, 240), timeline=[(3.0, "happy")])
        config = folder / "soulsync.yaml"

        def write_config(mode: str) -> None:
            config.write_text(f"camera:\n  kind: file\n  path: {video}\n  loop: true\n"
                              f"mqtt:\n  enabled: true\n  host: {broker.host}\n  port: {broker.port}\n"
                              "  device_id: living-room\n"
                              "  suggested_area: Living Room\n  diagnostics_interval_s: 5\n"
                              f"  discovery_mode: {mode}\n", encoding="utf-8")

        write_config(args.mode)
        watcher = Watcher(broker, ("hastate/#", "soulsync/#", "homeassistant/status", "hatest/event/#",
                                   ENTITY_CONFIG, DEVICE_CONFIG), client_id="check")
        log = (folder / "ha.log").open("w")
        hass = subprocess.Popen([args.hass, "-c", str(ha_dir)], stdout=log, stderr=subprocess.STDOUT)

        def start_daemon() -> subprocess.Popen[bytes]:
            return subprocess.Popen([sys.executable, "-m", "soulsyncd", "run", "--config", str(config)],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)

        daemon = start_daemon()
        check = Check(watcher)
        prefix = "soulsync_living_room_"
        try:
            if not watcher.wait_for(lambda w: b"online" in w.payloads("homeassistant/status"), 300):
                raise SystemExit("Home Assistant never came online (see its log)")
            check.expect(f"sensor.{prefix}mood", lambda v: v == "happy", "the mood", 120)
            check.configs(args.mode)
            for entity in ENTITIES:
                check.available(entity, "has a state")
            check.do("select.select_option", f"select.{prefix}mode", option="shift")
            check.expect(f"select.{prefix}mode", lambda v: v == "shift", "select -> daemon -> state")
            check.do("select.select_option", f"select.{prefix}target", option="energetic")
            check.expect(f"select.{prefix}target", lambda v: v == "energetic", "select -> daemon -> state")
            check.do("switch.turn_off", f"switch.{prefix}camera")
            check.expect(f"sensor.{prefix}camera_status", lambda v: v == "disabled", "camera switched off")
            check.expect(f"switch.{prefix}camera", lambda v: v == "off", "switch state")
            check.do("switch.turn_on", f"switch.{prefix}camera")
            check.expect(f"sensor.{prefix}camera_status", lambda v: v == "ok", "camera back on")
            check.do("button.press", f"button.{prefix}pause")
            check.expect(f"binary_sensor.{prefix}paused", lambda v: v == "on", "pause button")
            check.do("button.press", f"button.{prefix}resume")
            check.expect(f"binary_sensor.{prefix}paused", lambda v: v == "off", "resume button")
            check.do("number.set_value", f"number.{prefix}volume", value=35)
            check.command("soulsync/living-room/volume/set")
            check.do("text.set_value", f"text.{prefix}speaker", value="Kitchen")
            check.command("soulsync/living-room/device/set")
            check.do("button.press", f"button.{prefix}skip")
            check.command("soulsync/living-room/skip/set")
            # --- what docs/home-assistant.md promises ---
            enums = ((f"sensor.{prefix}mood", "happy"), (f"sensor.{prefix}player_status", "dry run"),
                     (f"sensor.{prefix}camera_status", "disabled"))
            for entity, wanted in enums:
                if version >= OPTIONS_SINCE:
                    offered = watcher.wait_for(
                        lambda _, e=entity, v=wanted: v in check.attribute(e, "options"), 30)
                    check.note(offered, f"{entity}: enum options {check.attribute(entity, 'options')}")
                else:  # MQTT sensors take ``options`` from 2024.9; before, the enum class alone
                    device_class = check.attribute(entity, "device_class")
                    check.note(device_class == '"enum"', f"{entity}: device_class {device_class} (options "
                               f"need Home Assistant {'.'.join(map(str, OPTIONS_SINCE))})")
            check.note(all(check.state(entity) == "" for entity in DISABLED),
                       f"disabled by default, so no state in Home Assistant: {', '.join(DISABLED)}")
            camera_events = f"hatest/event/event.{prefix}camera_changed"
            fired = watcher.wait_for(
                lambda w: w.payloads(camera_events)[:2] == [b"disabled", b"starting"], 30)
            check.note(fired, f"camera events fired the automation: {watcher.payloads(camera_events)}")
            response = "soulsync/living-room/response"
            wanted_answers = {"mode", "target", "camera", "pause", "resume", "volume", "device", "skip"}

            def answered() -> set[str]:
                return {json.loads(p)["command"] for p in watcher.payloads(response) if json.loads(p)["ok"]}

            check.note(watcher.wait_for(lambda _: wanted_answers <= answered(), 10),
                       f"every command from Home Assistant answered ok on {response}: {sorted(answered())}")
            check.do("select.select_option", f"select.{prefix}log_level", option="debug")
            check.expect(f"select.{prefix}log_level", lambda v: v == "debug", "log level select")
            check.do("button.press", f"button.{prefix}restart")
            try:
                status = daemon.wait(30)
            except subprocess.TimeoutExpired:
                status = None
            check.note(status == 75, f"restart button: the daemon exited with {status} (75: restarted)")
            check.expect(f"sensor.{prefix}mood", lambda v: v == "unavailable", "restarting: unavailable")
            daemon = start_daemon()
            check.expect(f"sensor.{prefix}mood", lambda v: v == "happy", "daemon back after the restart", 120)
            check.expect(f"select.{prefix}log_level", lambda v: v == "info", "log level from the file again")
            mood_events = f"hatest/event/event.{prefix}mood_changed"  # the restarted daemon's first moods
            check.note(watcher.wait_for(lambda w: b"happy" in w.payloads(mood_events), 60)
                       and b"" not in watcher.payloads(mood_events),
                       f"mood event fired the automation: {watcher.payloads(mood_events)}")
            daemon.terminate()
            daemon.wait(15)
            check.expect(f"sensor.{prefix}mood", lambda v: v == "unavailable", "daemon stopped")
            daemon = start_daemon()
            check.expect(f"sensor.{prefix}mood", lambda v: v == "happy", "daemon back", 120)
            daemon.kill()
            daemon.wait()
            check.expect(f"sensor.{prefix}mood", lambda v: v == "unavailable", "daemon killed (last will)")
            if switch_to:  # --- the other discovery form: the same entities, none twice ---
                print(f"switching discovery mode: {args.mode} -> {switch_to}", flush=True)
                write_config(switch_to)
                since = watcher.count()
                daemon = start_daemon()
                check.configs(switch_to)
                check.expect(f"sensor.{prefix}mood", lambda v: v == "happy", "back in the other form", 120)
                for entity in ENTITIES:
                    check.available(entity, "has a state after the switch", since)
                check.do("select.select_option", f"select.{prefix}mode", option="off")
                check.expect(f"select.{prefix}mode", lambda v: v == "off", "select after the switch")
                check.do("button.press", f"button.{prefix}pause")
                check.expect(f"binary_sensor.{prefix}paused", lambda v: v == "on", "pause after the switch")
                daemon.terminate()
                daemon.wait(15)
                check.expect(f"sensor.{prefix}mood", lambda v: v == "unavailable", "daemon stopped")
            check.shown()
            hass.terminate()  # the registries are written on the way out
            hass.wait(120)
            check.registry(ha_dir)
            log.close()
            said = [line.rstrip() for line in (folder / "ha.log").read_text(errors="replace").splitlines()
                    if (" WARNING " in line or " ERROR " in line) and "mqtt" in line.lower()]
            print(f"Home Assistant's MQTT warnings and errors: {len(said)}", *said[:30], sep="\n  ",
                  flush=True)
        finally:
            for process in (daemon, hass):
                if process.poll() is None:
                    process.terminate()
                    try:
                        process.wait(30)
                    except subprocess.TimeoutExpired:
                        process.kill()
            watcher.close()
            broker.stop()
            if args.ha_log:
                args.ha_log.write_bytes((folder / "ha.log").read_bytes())
    print("all checks passed" if not check.failed else f"{check.failed} checks failed")
    return 1 if check.failed else 0


if __name__ == "__main__":
    sys.exit(main())
