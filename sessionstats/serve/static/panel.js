// The Sessions panel: the list, one session's figures as `show` prints them, updated live from /api/events.
"use strict";

const token = new URLSearchParams(location.search).get("token");
const COST_FIGURES = new Set(["total_cost", "cost_per_story", "cost_per_1k_words", "cost_per_hour"]);
const text = (v) => (v === null || v === undefined ? EMPTY : String(v));
const count = (v) => fmtTokens(v);
const places = (n) => (v) => fmtNumber(v, n);
// The rows of `show`'s two tables (cli/stats_view.py OVERVIEW and METRICS), in its order and words.
const OVERVIEW = [["Session", "name", text], ["Id", "session_id", text], ["State", "status", text],
  ["Created", "created_at", fmtTime], ["Started", "started_at", fmtTime], ["Ended", "ended_at", fmtTime],
  ["Session duration", "duration_seconds", fmtDuration], ["Stories", "story_count", count],
  ["Tokens", "total_tokens", count], ["Cost", "total_cost", fmtCost]];
const METRICS = [["Stories", "story_count", count], ["API calls", "api_calls", count],
  ["Input tokens", "input_tokens", count], ["Output tokens", "output_tokens", count],
  ["Cache read tokens", "cache_read_tokens", count], ["Cache write tokens", "cache_write_tokens", count],
  ["Total tokens", "total_tokens", count], ["Total cost", "total_cost", fmtCost],
  ["Server tool calls", "tool_calls", count], ["Server tool cost", "tool_cost", fmtCost],
  ["Tokens per story", "tokens_per_story", places(1)], ["Cost per story", "cost_per_story", fmtCost],
  ["Words", "word_count", count], ["Words per story", "words_per_story", places(1)],
  ["Cost per 1,000 words", "cost_per_1k_words", fmtCost], ["Tokens per word", "tokens_per_word", places(2)],
  ["Average story duration", "avg_story_duration", fmtDuration],
  ["First record", "first_record_at", fmtTime], ["Last record", "last_record_at", fmtTime],
  ["Active from", "active_from", fmtTime], ["Active until", "active_until", fmtTime],
  ["Active span", "active_seconds", fmtDuration], ["Stories per hour", "stories_per_hour", places(1)],
  ["Tokens per hour", "tokens_per_hour", places(0)], ["Cost per hour", "cost_per_hour", fmtCost]];
const BREAKDOWN_COLUMNS = [["Stories", "story_count", count], ["Calls", "api_calls", count],
  ["Tokens", "total_tokens", count], ["Cost", "total_cost", fmtCost], ["Share of tokens", "token_share", share]];

const state = { sessions: [], sort: "last_activity", descending: true, shown: null, detail: null };

function share(v) { return v === null || v === undefined ? EMPTY : fmtNumber(v * 100, 1) + "%"; }

function figure(stats, key, shown) {  // as stats_view._figure: costs no call was priced for say "unknown"
  if (key === "total_cost") return fmtKnownCost(stats.total_cost, stats.unpriced_records, stats.api_calls);
  if (key === "tool_cost" && !stats.tool_calls) return EMPTY;  // no server tool was called: no fee to show
  const value = stats[key];
  if (COST_FIGURES.has(key) && value !== null && stats.api_calls && stats.unpriced_records >= stats.api_calls) {
    return "unknown";
  }
  return shown(value);
}

function api(path) {
  const url = token ? `${path}${path.includes("?") ? "&" : "?"}token=${encodeURIComponent(token)}` : path;
  return url;
}

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

function selectedId() {
  const hash = location.hash.match(/^#\/session\/(.+)$/);
  try {
    return hash ? decodeURIComponent(hash[1]) : null;
  } catch (error) {  // a hand-typed '#/session/%ff': no session, not a page that stops working
    return null;
  }
}

// ---- the session list ----------------------------------------------------------------------------------

function compare(a, b) {
  const key = state.sort;
  let x = a[key], y = b[key];
  if (key === "total_cost") { x = Number(x); y = Number(y); }  // ordering only; the shown cost stays exact
  if (x === y) return 0;
  if (x === null || x === undefined) return 1;
  if (y === null || y === undefined) return -1;
  const order = x < y ? -1 : 1;
  return state.descending ? -order : order;
}

function drawList() {
  const filter = document.getElementById("filter").value.trim().toLowerCase();
  const body = document.querySelector("#sessions tbody");
  const current = selectedId();
  const rows = state.sessions.filter((s) => !filter || `${s.name || ""} ${s.session_id}`.toLowerCase()
    .includes(filter)).sort(compare);
  body.replaceChildren(...rows.map((s) => {
    const link = el("a", { href: `#/session/${encodeURIComponent(s.session_id)}` }, s.name || s.session_id);
    const row = el("tr", { "data-session": s.session_id },
      el("td", {}, link), el("td", {}, s.status), el("td", { class: "num" }, fmtTokens(s.story_count)),
      el("td", { class: "num" }, fmtTokens(s.total_tokens)),
      el("td", { class: "num", title: fmtKnownCost(s.total_cost, s.unpriced_records, s.api_calls) },
        fmtKnownCost(s.total_cost, s.unpriced_records, s.api_calls, true)),
      el("td", {}, ...fmtTime(s.last_activity).split(" ").flatMap((part) => [el("span", { class: "nowrap" }, part),
        " "])));
    if (s.session_id === current) row.setAttribute("aria-current", "true");
    return row;
  }));
  document.getElementById("list-empty").hidden = state.sessions.length > 0;
  document.getElementById("list-note").hidden = !rows.some((s) => s.unpriced_records &&
    s.unpriced_records < s.api_calls);
  for (const th of document.querySelectorAll("#sessions th")) {
    const key = th.querySelector("button").dataset.sort;
    th.setAttribute("aria-sort", key !== state.sort ? "none" : state.descending ? "descending" : "ascending");
  }
}

// ---- one session ---------------------------------------------------------------------------------------

function kindOf(key, shown) {  // the figure's type in SessionStats: Decimal, int or float
  if (COST_FIGURES.has(key)) return "cost";
  if (shown === count) return "count";
  return key.endsWith("_at") || key === "status" || key === "name" ? "other" : "number";
}

function figureRows(table, rows, stats, previous, withDelta) {
  table.querySelector("tbody").replaceChildren(...rows.map(([label, key, shown]) => {
    const value = figure(stats, key, shown);
    const cell = el("td", { "data-figure": key }, value);
    const changed = previous && key !== "duration_seconds" && previous[key] !== stats[key];
    const delta = changed ? fmtDelta(previous[key], stats[key], kindOf(key, shown)) : "";
    if (changed) {
      cell.classList.add("changed");
      cell.title = `was ${figure(previous, key, shown)}`;
    }
    const line = el("tr", {}, el("th", { scope: "row" }, label), cell);
    if (withDelta) line.append(el("td", { class: "delta", "data-delta": key }, delta));
    return line;
  }));
}

function drawBreakdowns(breakdowns) {
  const parts = Object.entries(breakdowns).map(([by, rows]) => {
    const head = el("tr", {}, el("th", { scope: "col" }, by[0].toUpperCase() + by.slice(1)),
      ...BREAKDOWN_COLUMNS.map(([label]) => el("th", { scope: "col", class: "num" }, label)));
    const lines = rows.map((row) => el("tr", {}, el("th", { scope: "row" }, row[by] ?? "(none)"),
      ...BREAKDOWN_COLUMNS.map(([, key, shown]) => el("td", { class: "num", "data-figure": key },
        key === "total_cost" ? fmtKnownCost(row.total_cost, row.unpriced_records, row.api_calls) : shown(row[key])))));
    return el("div", { class: "breakdown scroll" }, el("table", { "data-by": by },
      el("caption", {}, `By ${by}`), el("thead", {}, head), el("tbody", {}, ...lines)));
  });
  document.getElementById("breakdowns").replaceChildren(...parts);
}

function drawStories(stories) {
  document.querySelector("#stories tbody").replaceChildren(...stories.map((s) => el("tr", {},
    el("td", {}, fmtTime(s.created_at)), el("td", {}, s.title), el("td", {}, text(s.tone)),
    el("td", {}, text(s.priority)), el("td", { class: "num" }, fmtTokens(s.word_count)),
    el("td", { class: "num" }, fmtTokens(s.api_calls)), el("td", { class: "num" }, fmtTokens(s.total_tokens)),
    el("td", { class: "num" }, fmtKnownCost(s.total_cost, s.unpriced_records, s.api_calls)))));
}

function drawTimeline(timeline) {
  const figure = document.getElementById("timeline");
  const buckets = timeline.buckets;
  const width = 640, height = 160, left = 8, bottom = 20;
  const most = Math.max(1, ...buckets.map((b) => b.total_tokens));
  const slot = buckets.length ? (width - left) / buckets.length : width;
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-labelledby", "timeline-caption");
  buckets.forEach((b, i) => {
    const tall = Math.round((b.total_tokens / most) * (height - bottom - 4));
    const bar = document.createElementNS(ns, "rect");
    Object.entries({ class: "bar", x: left + i * slot + 1, y: height - bottom - tall, width: Math.max(1, slot - 2),
      height: tall }).forEach(([k, v]) => bar.setAttribute(k, v));
    const title = document.createElementNS(ns, "title");
    title.textContent = `${fmtTime(b.start)}: ${fmtTokens(b.total_tokens)} tokens, ${fmtCost(b.total_cost)}, ` +
      `${fmtTokens(b.story_count)} stories`;
    bar.append(title);
    svg.append(bar);
  });
  const label = document.createElementNS(ns, "text");
  label.setAttribute("x", left);
  label.setAttribute("y", height - 4);
  label.textContent = buckets.length ? `${fmtTime(buckets[0].start)} … (${fmtTokens(most)} tokens at most)` : "";
  svg.append(label);
  const minutes = timeline.every_seconds / 60;
  const caption = el("figcaption", { id: "timeline-caption" },
    `Tokens per ${minutes >= 60 ? `${minutes / 60} h` : `${minutes} min`} bucket, ${buckets.length} buckets`);
  figure.replaceChildren(svg, caption);
}

function drawDetail(detail) {
  const previous = state.detail && state.detail.stats.session_id === detail.stats.session_id
    ? state.detail.stats : null;
  const stats = detail.stats;
  document.getElementById("session-title").textContent = stats.name || stats.session_id;
  figureRows(document.getElementById("overview"), OVERVIEW, stats, previous, false);
  figureRows(document.getElementById("metrics"), METRICS, stats, previous, true);
  const notes = [];
  if (stats.unpriced_records) {
    notes.push(`note: ${fmtTokens(stats.unpriced_records)} of ${fmtTokens(stats.api_calls)} API calls have no ` +
      "known cost; the total covers the priced ones only.");
  }
  if (stats.active_seconds !== null && stats.active_seconds < 60) {
    notes.push(`note: the active span is ${fmtDuration(stats.active_seconds)}; rates per hour are shown from ` +
      "60 seconds on.");
  }
  document.getElementById("notes").textContent = notes.join(" ");
  drawBreakdowns(detail.breakdowns);
  drawStories(detail.stories);
  drawTimeline(detail.timeline);
  state.detail = detail;
  document.getElementById("detail").hidden = false;
  document.getElementById("missing").hidden = true;
  document.getElementById("pick").hidden = true;
}

async function loadDetail() {
  const id = selectedId();
  if (!id) return;
  const response = await fetch(api(`api/sessions/${encodeURIComponent(id)}/detail`));
  if (selectedId() !== id) return;  // switched meanwhile
  if (!response.ok) {
    const missing = document.getElementById("missing");
    missing.textContent = (await response.json()).error;
    missing.hidden = false;
    document.getElementById("detail").hidden = true;
    state.detail = null;
    return;
  }
  const detail = await response.json();
  if (state.detail && state.detail.stats.session_id !== detail.stats.session_id) state.detail = null;
  drawDetail(detail);
  document.body.dataset.loaded = detail.stats.session_id;
}

// ---- live ----------------------------------------------------------------------------------------------

function listen() {
  const live = document.getElementById("live");
  const events = new EventSource(api("api/events"));
  events.addEventListener("sessions", (message) => {
    const update = JSON.parse(message.data);
    state.sessions = update.sessions;
    drawList();
    live.textContent = `Live: updated ${fmtTime(new Date().toISOString())}`;
    document.body.dataset.version = update.version;
    if (update.changed.includes(selectedId())) loadDetail();
  });
  events.onopen = () => { live.textContent = "Live"; };
  events.onerror = () => { live.textContent = "Reconnecting… (figures may be behind)"; };
}

function route() {
  state.detail = null;
  drawList();
  if (selectedId()) {
    loadDetail();
  } else {
    document.getElementById("detail").hidden = true;
    document.getElementById("pick").hidden = false;
  }
}

document.addEventListener("DOMContentLoaded", () => {
  const legacy = new URLSearchParams(location.search).get("session");
  if (legacy && !location.hash) location.hash = `#/session/${encodeURIComponent(legacy)}`;
  document.getElementById("filter").addEventListener("input", drawList);
  for (const button of document.querySelectorAll("#sessions th button")) {
    button.addEventListener("click", () => {
      const key = button.dataset.sort;
      state.descending = key === state.sort ? !state.descending : key !== "name" && key !== "status";
      state.sort = key;
      drawList();
    });
  }
  window.addEventListener("hashchange", () => { route(); document.getElementById("session").focus(); });
  route();
  listen();
});
