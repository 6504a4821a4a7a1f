// fallwatch web page: vanilla JS, no build step. The API token is kept in sessionStorage
// and sent as "Authorization: Bearer"; pictures and clips are fetched with it and shown
// from blob URLs, so the token never appears in a URL.
"use strict";

const KEY = "fallwatch.token";
const RANK = { viewer: 0, investigator: 1, admin: 2 };
const PAGE = 24;
const state = { me: null, offset: 0, count: 0, blobs: [] };

const $ = (id) => document.getElementById(id);
const token = () => sessionStorage.getItem(KEY);

function show(id) {
  for (const s of ["login", "list", "event"]) $(s).hidden = s !== id;
  $("logout").hidden = id === "login";
}

class ApiError extends Error {
  constructor(status, detail) { super(`${status}: ${detail}`); this.status = status; }
}

async function api(path, options = {}) {
  const headers = Object.assign({}, options.headers, { Authorization: `Bearer ${token()}` });
  const r = await fetch(path, Object.assign({}, options, { headers }));
  if (r.status === 401) {
    sessionStorage.removeItem(KEY);
    state.me = null;
    show("login");
    $("login-error").textContent = "The token was refused (unknown or revoked).";
    throw new ApiError(401, "unauthorized");
  }
  if (!r.ok) {
    let detail = r.statusText;
    try { detail = (await r.json()).detail; } catch (_e) { /* not JSON */ }
    throw new ApiError(r.status, detail);
  }
  return r;
}

function forgetBlobs() {
  for (const u of state.blobs) URL.revokeObjectURL(u);
  state.blobs = [];
}

async function blobUrl(path) {
  const r = await api(path);
  const u = URL.createObjectURL(await r.blob());
  state.blobs.push(u);
  return u;
}

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v; else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c);
  return e;
}

function fmtTime(iso) { return new Date(iso).toISOString().replace("T", " ").slice(0, 23) + "Z"; }

// ---- event list ----------------------------------------------------------------------
function filterQuery() {
  const q = new URLSearchParams();
  const camera = $("filter-camera").value.trim();
  if (camera) q.set("camera", camera);
  for (const [id, name] of [["filter-since", "since"], ["filter-until", "until"]]) {
    const v = $(id).value;
    if (v) q.set(name, new Date(v).toISOString());
  }
  if ($("filter-floor").value !== "") q.set("floor", $("filter-floor").value);
  if ($("filter-min-score").value !== "") q.set("min_score", $("filter-min-score").value);
  q.set("offset", state.offset);
  q.set("limit", PAGE);
  return q;
}

async function renderList() {
  show("list");
  forgetBlobs();
  const box = $("events");
  box.replaceChildren();
  const page = await (await api(`/api/events?${filterQuery()}`)).json();
  state.count = page.count;
  $("list-count").textContent = page.count === 0 ? "No events match."
    : `Events ${page.offset + 1}-${page.offset + page.data.length} of ${page.count}`;
  $("prev").disabled = state.offset === 0;
  $("next").disabled = state.offset + PAGE >= page.count;
  for (const ev of page.data) {
    const hasSnap = ev.files.includes("snapshot.jpg");
    const img = hasSnap ? el("img", { alt: `snapshot of event ${ev.id}` })
      : el("div", { class: "no-snapshot" }, ev.status === "writing"
        ? "evidence being written" : "no snapshot");
    const meta = el("div", { class: "meta" },
      el("div", {}, el("strong", {}, fmtTime(ev.start_utc))),
      el("div", {}, `camera ${ev.camera_id}`),
      el("div", {}, `floor ${ev.floor ?? "?"}, score ${ev.score.toFixed(2)}`),
      el("div", { class: `status-${ev.status}` },
         ev.status + (ev.legal_hold ? ", on legal hold" : "")));
    const link = el("a", { href: `#/event/${encodeURIComponent(ev.id)}`, "data-event": ev.id },
                    img, meta);
    box.append(el("div", { class: "event-card" }, link));
    if (hasSnap) {
      blobUrl(`/api/events/${encodeURIComponent(ev.id)}/snapshot.jpg`)
        .then((u) => { img.src = u; }).catch(() => {});
    }
  }
}

// ---- one event -----------------------------------------------------------------------
function trajectorySvg(ev, snapUrl, width, height) {
  const NS = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(NS, "svg");
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  if (snapUrl) {
    const im = document.createElementNS(NS, "image");
    im.setAttribute("href", snapUrl);
    im.setAttribute("width", width);
    im.setAttribute("height", height);
    im.setAttribute("preserveAspectRatio", "none");
    svg.append(im);
  }
  const line = document.createElementNS(NS, "polyline");
  line.setAttribute("points", ev.trajectory.map((p) => `${p[1]},${p[2]}`).join(" "));
  line.setAttribute("fill", "none");
  line.setAttribute("stroke", "#ff3030");
  line.setAttribute("stroke-width", Math.max(2, width / 400));
  line.setAttribute("class", "trajectory-line");
  svg.append(line);
  if (ev.origin && ev.origin.x_px != null) {
    const c = document.createElementNS(NS, "circle");
    c.setAttribute("cx", ev.origin.x_px);
    c.setAttribute("cy", ev.origin.y_px);
    c.setAttribute("r", Math.max(8, width / 100));
    c.setAttribute("fill", "none");
    c.setAttribute("stroke", "#ffd000");
    c.setAttribute("stroke-width", Math.max(2, width / 400));
    svg.append(c);
  }
  return svg;
}

async function download(path, filename) {
  const r = await api(path);
  const u = URL.createObjectURL(await r.blob());
  const a = el("a", { href: u, download: filename });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(u), 60000);
}

async function renderEvent(id) {
  show("event");
  forgetBlobs();
  $("event-error").textContent = "";
  const base = `/api/events/${encodeURIComponent(id)}`;
  const ev = await (await api(base)).json();
  $("event-title").textContent = `Event ${ev.id}`;
  const facts = [["Camera", ev.camera_id], ["Start", fmtTime(ev.start_utc)],
    ["Floor", ev.floor ?? "unknown (no facade calibration)"], ["Score", ev.score.toFixed(2)],
    ["Status", ev.status], ["Legal hold", ev.legal_hold ? "yes" : "no"]];
  $("event-facts").replaceChildren(...facts.flatMap(([k, v]) => {
    const dd = el("dd", {}, String(v));
    if (k === "Floor") dd.id = "floor";
    return [el("dt", {}, k), dd];
  }));
  const video = $("event-video");
  video.removeAttribute("src");
  delete video.dataset.played;
  if (ev.files.includes("annotated.mp4")) {
    video.src = await blobUrl(`${base}/annotated.mp4`);
  }
  const fig = $("trajectory");
  for (const old of fig.querySelectorAll("svg")) old.remove();
  // trajectory and origin are in the video's pixels: draw in those, the snapshot stretched
  // over them (it is a frame of the same video, perhaps scaled)
  let snap = null, w = 1920, h = 1080;
  if (ev.files.includes("snapshot.jpg")) {
    snap = await blobUrl(`${base}/snapshot.jpg`);
    const im = new Image();
    im.src = snap;
    await im.decode().then(() => { w = im.naturalWidth; h = im.naturalHeight; }).catch(() => {});
  }
  if (ev.video_size) [w, h] = ev.video_size;
  fig.prepend(trajectorySvg(ev, snap, w, h));

  const box = $("downloads");
  box.replaceChildren();
  if (RANK[state.me.role] >= RANK.investigator) {
    const names = ev.files.filter((f) => f !== "event.json");
    for (const name of names) {
      const b = el("button", { type: "button", class: "download", "data-file": name },
                   `Download ${name}`);
      b.onclick = () => download(`${base}/${name}?download=true`, `${ev.id}_${name}`)
        .catch((e) => { $("event-error").textContent = e.message; });
      box.append(b);
    }
    if (ev.status === "complete") {
      const b = el("button", { type: "button", class: "download", "data-file": "export" },
                   "Export (zip with verification)");
      b.onclick = () => download(`${base}/export`, `${ev.id}.zip`)
        .catch((e) => { $("event-error").textContent = e.message; });
      box.append(b);
    }
    const hold = el("button", { type: "button", id: "hold" },
                    ev.legal_hold ? "Release legal hold" : "Put on legal hold");
    hold.onclick = () => api(`${base}/hold`, { method: ev.legal_hold ? "DELETE" : "POST" })
      .then(() => renderEvent(id)).catch((e) => { $("event-error").textContent = e.message; });
    box.append(hold);
  }
}

// ---- routing -------------------------------------------------------------------------
async function route() {
  if (!token()) { show("login"); return; }
  try {
    if (!state.me) {
      state.me = await (await api("/api/me")).json();
      $("whoami").textContent = `${state.me.name} (${state.me.role})`;
    }
    const m = location.hash.match(/^#\/event\/(.+)$/);
    if (m) await renderEvent(decodeURIComponent(m[1])); else await renderList();
  } catch (e) {
    if (e.status !== 401) {
      const target = location.hash.startsWith("#/event/") ? "event-error" : "list-count";
      $(target).textContent = `Error ${e.message}`;
    }
  }
}

$("event-video").addEventListener("playing", (e) => { e.target.dataset.played = "1"; });
$("login-form").addEventListener("submit", (e) => {
  e.preventDefault();
  sessionStorage.setItem(KEY, $("token-input").value.trim());
  $("token-input").value = "";
  $("login-error").textContent = "";
  route();
});
$("logout").addEventListener("click", () => {
  sessionStorage.removeItem(KEY);
  state.me = null;
  $("whoami").textContent = "";
  show("login");
});
$("filters").addEventListener("submit", (e) => { e.preventDefault(); state.offset = 0; renderList(); });
$("filter-clear").addEventListener("click", () => {
  $("filters").reset(); state.offset = 0; renderList();
});
$("prev").addEventListener("click", () => { state.offset = Math.max(0, state.offset - PAGE); renderList(); });
$("next").addEventListener("click", () => { state.offset += PAGE; renderList(); });
window.addEventListener("hashchange", route);
route();
