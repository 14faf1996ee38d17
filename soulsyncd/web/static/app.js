// The status page: reads /api/state once, then follows /api/events (server-sent events) and sends
// commands to /api/command with the CSRF token. No framework, no build step, nothing from elsewhere.
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  let csrf = null;
  let source = null;
  let range = "hour";
  let lastMood = null;
  let lastTrack = null;
  let optionsFilled = false;
  let plotTimer = null;
  let reconnectTimer = null;
  let state = null;

  const text = (id, value) => { const el = $(id); const t = value === null || value === undefined || value === "" ? "–" : String(value); if (el.textContent !== t) el.textContent = t; };
  const num = (v, digits) => (v === null || v === undefined ? null : Number(v).toFixed(digits));
  const signed = (v) => (v === null || v === undefined ? null : (v >= 0 ? "+" : "") + Number(v).toFixed(2));
  const idle = (el) => document.activeElement !== el;

  function setLive(on) {
    const el = $("live");
    el.classList.toggle("off", !on);
    el.textContent = on ? "live" : "reconnecting…";
    document.body.dataset.live = on ? "1" : "0";
  }

  function fillOptions(options) {
    if (optionsFilled || !options) return;
    for (const [id, values] of [["mode", options.modes], ["target", options.targets]]) {
      const select = $(id);
      for (const value of values) { const o = document.createElement("option"); o.value = value; o.textContent = value; select.appendChild(o); }
    }
    optionsFilled = true;
  }

  function ensureOption(select, value) {
    if (value && ![...select.options].some((o) => o.value === value)) {
      const o = document.createElement("option"); o.value = value; o.textContent = value; select.appendChild(o);
    }
  }

  function duration(s) {
    if (s === null || s === undefined) return null;
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = Math.floor(s % 60);
    return h ? `${h} h ${m} min` : m ? `${m} min ${sec} s` : `${sec} s`;
  }

  function render(body) {
    const s = body.state;
    state = s;
    const mood = s.mood;
    const label = mood ? mood.label : "unknown";
    const moodEl = $("mood");
    moodEl.dataset.mood = label;
    text("mood", label === "absent" ? "nobody" : label);
    text("confidence", mood && label !== "absent" ? `confidence ${num(mood.confidence, 2)}` : "");
    text("valence", mood && label !== "absent" ? signed(mood.valence) : null);
    text("arousal", mood && label !== "absent" ? signed(mood.arousal) : null);
    text("faces", s.faces);
    text("mode-text", `${s.mode}${s.mode === "shift" ? " toward " + s.target : ""}${s.paused ? " (paused)" : ""}`);
    text("shift", s.shift);
    const p = s.playing;
    text("track", p ? p.title : "nothing yet");
    text("artists", p ? p.artists : "");
    text("features", p && p.valence !== null && p.energy !== null ? `valence ${num(p.valence, 2)}, energy ${num(p.energy, 2)}` : null);
    text("why", p ? p.why : null);
    text("player", s.player.text);
    text("device", s.player.device);
    text("camera", s.camera.status + (s.camera.detail ? ` (${s.camera.detail})` : ""));
    text("broker", s.broker);
    const err = $("error");
    err.hidden = !s.last_error;
    text("error", s.last_error);

    const mode = $("mode"), target = $("target");
    if (idle(mode)) { ensureOption(mode, s.mode); mode.value = s.mode; }
    if (idle(target)) { ensureOption(target, s.target); target.value = s.target; }
    const pause = $("pause");
    pause.textContent = s.paused ? "Resume" : "Pause";
    pause.dataset.paused = s.paused ? "1" : "0";
    const cam = $("camera-switch");
    const off = s.camera.status === "disabled";
    cam.textContent = off ? "Camera on" : "Camera off";
    cam.dataset.off = off ? "1" : "0";
    const volume = $("volume");
    if (idle(volume) && s.player.volume !== null) volume.value = s.player.volume;
    text("volume-text", s.player.volume);
    const speaker = $("speaker");
    if (idle(speaker) && !speaker.value && s.player.device) speaker.value = s.player.device;
    const list = $("speakers");
    const speakers = body.speakers || [];
    if (list.options.length !== speakers.length) {
      list.replaceChildren(...speakers.map((name) => { const o = document.createElement("option"); o.value = name; return o; }));
    }

    drawFraming(s.framing);
    const st = s.stats;
    text("fps", num(st.fps, 1));
    text("inference", st.inference_ms ? `${num(st.inference_ms, 1)} ms` : null);
    text("detector", st.detector_ms ? `${num(st.detector_ms, 1)} ms` : null);
    text("cpu", st.cpu_percent === null ? null : `${num(st.cpu_percent, 1)} % of a core`);
    text("rss", st.rss_mb === null ? null : `${num(st.rss_mb, 0)} MB`);
    text("uptime", duration(st.uptime_s));
    const events = body.events || [];
    const list_ = $("events");
    const key = events.length ? events[0].at + events[0].text + events.length : "";
    if (list_.dataset.key !== key) {
      list_.dataset.key = key;
      list_.replaceChildren(...events.map((e) => { const li = document.createElement("li"); li.textContent = `${e.at} ${e.text}`; li.dataset.kind = e.kind; return li; }));
    }
    const track = p ? p.title + "|" + p.artists : null;
    if (label !== lastMood || track !== lastTrack) {
      const first = lastMood === null;
      lastMood = label; lastTrack = track;
      if (!first) { loadPlot(); setTimeout(loadPlot, 1500); }
    }
  }

  function drawFraming(f) {
    const canvas = $("frame");
    const w = f.width || 4, h = f.height || 3;
    const cw = 320, ch = Math.round(cw * h / w);
    if (canvas.height !== ch) canvas.height = ch;
    const g = canvas.getContext("2d");
    g.clearRect(0, 0, cw, ch);
    g.strokeStyle = "#c4cdd5"; g.setLineDash([4, 4]);
    g.strokeRect(cw / 3, 0, cw / 3, ch); g.strokeRect(0, ch / 3, cw, ch / 3);
    g.setLineDash([]); g.lineWidth = 3; g.strokeStyle = "#2f855a";
    for (const [x, y, bw, bh] of f.boxes) g.strokeRect(x * cw / w, y * ch / h, bw * cw / w, bh * ch / h);
    canvas.dataset.boxes = String(f.boxes.length);
    if (!f.width) { g.fillStyle = "#616e7c"; g.font = "14px sans-serif"; g.fillText("no picture", 12, 24); }
    text("face-rate", f.face_rate === null ? null : `${Math.round(f.face_rate * 100)} % of frames, last minute`);
    text("brightness", f.brightness === null ? null : `${num(f.brightness, 0)} of 255`);
    text("sharpness", f.sharpness === null ? null : num(f.sharpness, 0));
    text("hints", f.hints.length ? f.hints.join(", ") : (f.width ? "light and focus look fine" : ""));
    $("hints").classList.toggle("bad", f.hints.length > 0);
  }

  async function loadPlot() {
    try {
      const r = await fetch(`/api/timeline.svg?range=${range}`, { cache: "no-store", credentials: "same-origin" });
      if (!r.ok) return;
      const doc = new DOMParser().parseFromString(await r.text(), "image/svg+xml");
      const svg = doc.documentElement;
      if (svg.nodeName !== "svg") return;
      $("plot").replaceChildren(document.importNode(svg, true));
      $("plot").dataset.loaded = String(Date.now());
    } catch (e) { /* the next tick tries again */ }
  }

  async function loadState() {
    const r = await fetch("/api/state", { cache: "no-store", credentials: "same-origin" });
    if (r.status === 401) { location.href = "/login"; return false; }
    if (!r.ok) throw new Error(`state ${r.status}`);
    const body = await r.json();
    csrf = body.csrf;
    $("logout").hidden = !body.login;
    fillOptions(body.options);
    render(body);
    return true;
  }

  function connect() {
    if (source) source.close();
    let broken = false;
    source = new EventSource("/api/events");
    source.addEventListener("state", (e) => { setLive(true); render(JSON.parse(e.data)); });
    source.onopen = () => { setLive(true); if (broken) { broken = false; loadState().catch(() => {}); loadPlot(); } };
    source.onerror = () => {
      setLive(false);
      broken = true;
      if (source.readyState === EventSource.CLOSED) scheduleReconnect();  // the browser gave up: we don't
    };
  }

  function scheduleReconnect() {
    if (reconnectTimer) return;
    reconnectTimer = setTimeout(async () => {
      reconnectTimer = null;
      try { if (await loadState()) { connect(); loadPlot(); } } catch (e) { scheduleReconnect(); }
    }, 1000);
  }

  async function send(command, value) {
    for (let attempt = 0; attempt < 2; attempt++) {
      const r = await fetch("/api/command", {
        method: "POST", credentials: "same-origin", cache: "no-store",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf || "" },
        body: JSON.stringify({ command, value }),
      }).catch(() => null);
      if (r && r.status === 401) { location.href = "/login"; return; }
      if (r && r.status === 403 && attempt === 0) { await loadState().catch(() => {}); continue; }
      if (r && !r.ok) { const b = await r.json().catch(() => ({})); text("error", b.error || `error ${r.status}`); $("error").hidden = false; }
      return;
    }
  }

  function wire() {
    $("mode").addEventListener("change", (e) => { send("mode", e.target.value); e.target.blur(); });
    $("target").addEventListener("change", (e) => { send("target", e.target.value); e.target.blur(); });
    $("pause").addEventListener("click", () => send(state && state.paused ? "resume" : "pause", null));
    $("skip").addEventListener("click", () => send("skip", null));
    $("camera-switch").addEventListener("click", () => send("camera", state ? state.camera.status === "disabled" : false));
    $("volume").addEventListener("input", (e) => text("volume-text", e.target.value));
    $("volume").addEventListener("change", (e) => { send("volume", Number(e.target.value)); e.target.blur(); });
    $("speaker-set").addEventListener("click", () => { const v = $("speaker").value.trim(); if (v) send("speaker", v); $("speaker").blur(); });
    $("logout").addEventListener("click", async () => {
      await fetch("/logout", { method: "POST", credentials: "same-origin", headers: { "X-CSRF-Token": csrf || "" } }).catch(() => null);
      location.href = "/login";
    });
    const ranges = ["15min", "hour", "today"];
    for (const r of ranges) {
      $(`range-${r}`).addEventListener("click", () => {
        range = r;
        for (const other of ranges) $(`range-${other}`).classList.toggle("on", other === r);
        loadPlot();
      });
    }
  }

  async function main() {
    wire();
    setLive(false);
    try { await loadState(); } catch (e) { scheduleReconnect(); return; }
    connect();
    loadPlot();
    plotTimer = setInterval(loadPlot, 15000);
  }

  document.addEventListener("DOMContentLoaded", main);
})();
