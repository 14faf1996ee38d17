#!/usr/bin/env python3
"""aiohttp against tornado for the status page (docs/web.md, "Why aiohttp"): the RSS each adds to a fresh
Python process serving a small JSON route and one server-sent-events stream pushed once a second, and
the CPU each spends answering ``--requests`` GETs of that route (keep-alive, one client thread).
Each server runs in a subprocess of its own; ``--rounds`` runs each, alternating; medians.

    python tools/web_server_choice.py                   # needs aiohttp and tornado importable

Tornado is not a dependency of soulsyncd; install it in a scratch venv to run this.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import textwrap

SERVER = {
    "aiohttp": """
        import asyncio, json
        from aiohttp import web
        async def state(request):
            return web.json_response(BODY)
        async def events(request):
            response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
            await response.prepare(request)
            while True:
                await response.write(b"data: " + json.dumps(BODY).encode() + b"\\n\\n")
                await asyncio.sleep(1)
        async def main():
            app = web.Application()
            app.router.add_get("/state", state)
            app.router.add_get("/events", events)
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", PORT)
            await site.start()
            READY()
            await asyncio.Event().wait()
    """,
    "tornado": """
        import asyncio, json
        import tornado.web
        class State(tornado.web.RequestHandler):
            def get(self):
                self.write(BODY)
        class Events(tornado.web.RequestHandler):
            async def get(self):
                self.set_header("Content-Type", "text/event-stream")
                while True:
                    self.write(b"data: " + json.dumps(BODY).encode() + b"\\n\\n")
                    await self.flush()
                    await asyncio.sleep(1)
        async def main():
            app = tornado.web.Application([("/state", State), ("/events", Events)])
            app.listen(PORT, "127.0.0.1")
            READY()
            await asyncio.Event().wait()
    """,
}

HARNESS = """
import os, sys, socket, threading, time, resource
import asyncio
def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
BODY = {"state": {"mood": {"label": "happy", "confidence": 0.9}, "stats": {"fps": 5.0}},
        "events": ["x" * 60] * 30}
with socket.socket() as s:
    s.bind(("127.0.0.1", 0)); PORT = s.getsockname()[1]
import json, requests  # the client side, loaded before the baseline
N = REQUESTS
BASE = rss()
def READY():
    threading.Thread(target=client, daemon=True).start()
def client():
    try:
        measure()
    finally:
        os._exit(0)
def measure():
    session = requests.Session()
    stream = session.get(f"http://127.0.0.1:{PORT}/events", stream=True, timeout=10)
    lines = stream.iter_lines()
    next(l for l in lines if l.startswith(b"data:"))
    other = requests.Session()
    other.get(f"http://127.0.0.1:{PORT}/state", timeout=5)
    time.sleep(2)
    cpu = time.process_time()
    for _ in range(N):
        other.get(f"http://127.0.0.1:{PORT}/state", timeout=5)
    used = time.process_time() - cpu
    print(f"{rss() - BASE:.2f} {1000 * used / N:.3f}", flush=True)
SERVER
asyncio.run(main())
"""


def run(kind: str, requests_: int) -> tuple[float, float]:
    code = HARNESS.replace("SERVER", textwrap.dedent(SERVER[kind])).replace("REQUESTS", str(requests_))
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True
    )
    rss, ms = result.stdout.split()
    return float(rss), float(ms)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    figures: dict[str, list[tuple[float, float]]] = {kind: [] for kind in SERVER}
    for _ in range(args.rounds):
        for kind in SERVER:
            figures[kind].append(run(kind, args.requests))
    for kind, values in figures.items():
        rss = statistics.median(v[0] for v in values)
        ms = statistics.median(v[1] for v in values)
        print(f"{kind}: RSS added {rss:.1f} MB, CPU {ms:.2f} ms per request (server and client, one process)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
