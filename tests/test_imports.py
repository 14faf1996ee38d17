"""Importing and validating the config loads only what the config uses (issue 20.3, 17.7)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("cv2", "numpy", "ai_edge_litert", "tflite_runtime", "spotipy", "paho", "sqlite3", "requests",
         "pydantic", "pydantic_core", "_hashlib")


def loaded_after(code: str) -> set[str]:
    """The heavy top-level packages in ``sys.modules`` after running ``code`` in a fresh interpreter."""
    report = ("import json, sys\n"
              f"print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r}))))")
    script = code + "\n" + report
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True)
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def test_validating_a_config_loads_no_library_of_the_pipeline(tmp_path: Path) -> None:
    """check-config's path: the whole file validated (every section, Spotify player and MQTT on too)
    without OpenCV, numpy, LiteRT, spotipy, paho, SQLite, requests or pydantic."""
    config = tmp_path / "soulsync.yaml"
    config.write_text(
        "camera:\n  kind: usb\n  device: /dev/video0\n"
        "player:\n  kind: spotify\n  client_id: 0123456789abcdef0123456789abcdef\n  device: Kitchen\n"
        "mqtt:\n  enabled: true\n  host: localhost\n"
        "music:\n  playlists:\n    happy: spotify:playlist:37i9dQZF1DXdPec7aLTmlC\n"
        f"state:\n  dir: {tmp_path / 'state'}\n"
    )
    code = (
        "from pathlib import Path\nimport soulsyncd.config as c\n"
        f"config = c.load_config(Path({str(config)!r}))\nassert config.player.kind == 'spotify'\n"
    )
    assert loaded_after(code) == set()


def test_the_demo_daemon_wiring_loads_no_spotify_or_mqtt() -> None:
    """The demo's daemon (dry-run player, MQTT off) built as ``soulsyncd run`` builds it: OpenCV,
    numpy, LiteRT and SQLite (its catalog), but neither spotipy, paho nor requests, nor pydantic."""
    code = (
        "from pathlib import Path\nimport soulsyncd.app as app\nfrom soulsyncd.config import load_config\n"
        "config = load_config(Path('config/demo.yaml'))\n"
        "app.build_player(config)\n"
        "assert [type(s).__name__ for s in app.build_services(config)] == ['EventLog']\n"
    )
    loaded = loaded_after(code)
    assert not loaded & {"spotipy", "paho", "requests", "pydantic", "pydantic_core"}


def test_the_demo_pipeline_loads_no_hashlib(tmp_path: Path) -> None:
    """hashlib's ``_hashlib`` maps the system's libcrypto (3.3 MB resident; OpenCV brings its own
    copy for FFmpeg): the pipeline (model, detector, source, catalog) is built without it."""
    code = (
        "from pathlib import Path\nimport msgspec\nimport soulsyncd.app as app\n"
        "from soulsyncd.config import StateConfig, load_config\n"
        "config = load_config(Path('config/demo.yaml'))\n"
        f"config = msgspec.structs.replace(config, state=StateConfig(dir=Path({str(tmp_path)!r})))\n"
        "core = app.build(config)\ncore.close()\n"
    )
    assert "_hashlib" not in loaded_after(code)


def test_the_spotify_player_loads_spotipy_without_redis_or_a_charset_detector() -> None:
    """spotipy imports redis (and asyncio) for a cache handler the daemon never uses (8.7 MB), and
    requests a character detector for text answers that name no encoding (2.4 MB). The Spotify
    player gets both without them, silently, a JSON answer still decodes, and a later import of
    either package still gets the real one."""
    code = (
        "import sys, warnings\nwarnings.simplefilter('error')\n"
        "import soulsyncd.spotify.player\nimport spotipy, requests\n"
        "assert 'redis' not in sys.modules and 'asyncio' not in sys.modules, 'redis loaded'\n"
        "assert 'charset_normalizer' not in sys.modules and 'chardet' not in sys.modules, 'detector loaded'\n"
        "assert spotipy.Spotify and spotipy.cache_handler.CacheFileHandler\n"
        "answer = requests.models.Response()\nanswer._content = '{\"name\": \"Sigur Rós\"}'.encode()\n"
        "assert answer.json() == {'name': 'Sigur R\u00f3s'}\n"
        "assert answer.text == '{\"name\": \"Sigur R\u00f3s\"}'\n"
        "import importlib.util\n"
        "for name, attribute in (('redis', 'Redis'), ('charset_normalizer', 'from_bytes')):\n"
        "    if importlib.util.find_spec(name):\n"
        "        module = importlib.import_module(name)\n"
        "        assert hasattr(module, attribute), f'the stand-in for {name} stayed'\n"
    )
    assert {"spotipy", "requests"} <= loaded_after(code)


def test_no_module_of_soulsyncd_imports_pydantic() -> None:
    """The config is validated by msgspec (pydantic, its core and the libcrypto it loads cost ~20 MB of
    the daemon's peak, docs/performance.md): every module of the package imports without it."""
    code = (
        "import importlib, pkgutil, soulsyncd\n"
        "for module in pkgutil.walk_packages(soulsyncd.__path__, 'soulsyncd.'):\n"
        "    importlib.import_module(module.name)\n"
    )
    assert not loaded_after(code) & {"pydantic", "pydantic_core"}
