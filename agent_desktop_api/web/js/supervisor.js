// The supervisor console: a live wallboard per campaign (one metrics message a second over
// /ws/supervisor), the last hour as a chart (uPlot from npm), the agents table with force
// pause / log out, the campaign controls, and list penetration from REST.
import uPlot from "../node_modules/uplot/dist/uPlot.esm.js";
import {
  $, api, locale, applyI18n, reasonText, confirmDialog, duration, el, fillRows, LiveSocket, mountHeader, num, pct,
  requireSession, setConn, t, toast,
} from "./common.js";

const HOUR = 3600;
const HISTORY_KEY = "recobro.wallboard-history";

const view = {
  campaigns: new Map(), // id -> latest metrics of the campaign
  agents: [],
  selected: null, // campaign id shown in the tiles and the chart
  history: new Map(), // id -> {t:[], dial:[], inflight:[], abandon:[], target:[], live:[], util:[]}
  latest: null, // the platform's time (s) of the newest metrics: the chart's right edge
  editing: false, // the supervisor is typing in the controls: do not overwrite them
};

let socket = null;
let chart = null;

// ---- metrics in -------------------------------------------------------------------------

/** One campaign's metrics as the page uses them, whatever the exact field names. */
function normalizeCampaign(c) {
  const abandon = c.abandon || {};
  return {
    id: String(c.campaign_id ?? c.id ?? c.name),
    name: c.name ?? c.campaign ?? String(c.campaign_id),
    mode: c.mode ?? "predictive",
    paused: !!c.paused,
    dial: c.dial_level ?? c.dial_ratio ?? null,
    maxRatio: c.max_dial_ratio ?? null,
    inFlight: c.calls_in_flight ?? c.in_flight ?? null,
    answer: c.answer_rate ?? null,
    live: c.live_answer_rate ?? null,
    abRun: c.abandon_rate_run ?? abandon.run ?? null,
    abToday: c.abandon_rate_today ?? abandon.today ?? null,
    ab30: c.abandon_rate_30d ?? abandon.days_30 ?? abandon["30d"] ?? null,
    target: c.target_abandon_rate ?? abandon.target ?? null,
    util: c.utilization ?? null,
    queue: c.queue_length ?? (c.queue && c.queue.length) ?? null,
    oldest: c.queue_oldest_wait_seconds ?? c.oldest_wait_seconds ?? (c.queue && c.queue.oldest_wait_seconds) ?? null,
    byState: c.agents_by_state ?? {},
  };
}

/** The platform's time of a metrics message (a simulated clock may run elsewhere than this PC's). */
function metricsTime(msg) {
  const at = msg.at ? Date.parse(msg.at) : NaN;
  return Math.floor((Number.isNaN(at) ? Date.now() : at) / 1000);
}

function onMetrics(msg) {
  const now = metricsTime(msg);
  view.latest = now;
  for (const raw of msg.campaigns || []) {
    const c = normalizeCampaign(raw);
    view.campaigns.set(c.id, c);
    record(c, now);
  }
  if (Array.isArray(msg.agents)) view.agents = msg.agents;
  if (!view.selected || !view.campaigns.has(view.selected)) view.selected = view.campaigns.keys().next().value ?? null;
  render();
}

function record(c, now) {
  let h = view.history.get(c.id);
  if (!h) {
    h = { t: [], dial: [], inflight: [], abandon: [], target: [], live: [], util: [] };
    view.history.set(c.id, h);
  }
  if (h.t.length && now < h.t[h.t.length - 1] - 60) {
    for (const k of Object.keys(h)) h[k] = []; // the platform's clock went back (a restart): start over
  }
  if (h.t.length && h.t[h.t.length - 1] >= now) return;
  const push = (k, v) => h[k].push(v === null || v === undefined ? null : Number(v));
  h.t.push(now);
  push("dial", c.dial);
  push("inflight", c.inFlight);
  push("abandon", c.abToday === null ? null : c.abToday * 100);
  push("target", c.target === null ? null : c.target * 100);
  push("live", c.live === null ? null : c.live * 100);
  push("util", c.util === null ? null : c.util * 100);
  while (h.t.length && h.t[0] < now - HOUR) for (const k of Object.keys(h)) h[k].shift();
}

function saveHistory() {
  try {
    sessionStorage.setItem(HISTORY_KEY, JSON.stringify([...view.history.entries()]));
  } catch {
    // a full storage only costs the chart its past after a reload
  }
}

function loadHistory() {
  try {
    for (const [id, h] of JSON.parse(sessionStorage.getItem(HISTORY_KEY) || "[]")) {
      const keep = h.t.findIndex((x) => x >= h.t[h.t.length - 1] - HOUR);
      if (keep < 0) continue;
      for (const k of Object.keys(h)) h[k] = h[k].slice(keep);
      view.history.set(id, h);
    }
  } catch {
    view.history.clear();
  }
}

function onControlResult(msg) {
  if (msg.type === "error") {
    $("#c-error").textContent = msg.message || msg.detail || "error";
    toast(msg.message || msg.detail || "error", "error");
  } else {
    toast(t("sup.change_sent"), "ok");
  }
}

function onMessage(msg) {
  if (msg.type === "metrics" || msg.type === "wallboard") onMetrics(msg);
  else if (msg.type === "error" || msg.type === "ack" || msg.type === "control_ok") onControlResult(msg);
}

// ---- drawing ----------------------------------------------------------------------------

function selected() {
  return view.selected ? view.campaigns.get(view.selected) : null;
}

function render() {
  renderTabs();
  renderTiles();
  renderControls();
  renderAgents();
  renderChart();
}

function renderTabs() {
  const tabs = $("#camp-tabs");
  const ids = [...view.campaigns.keys()];
  if (tabs.dataset.ids !== ids.join(",") || tabs.dataset.sel !== view.selected) {
    tabs.dataset.ids = ids.join(",");
    tabs.dataset.sel = view.selected || "";
    tabs.replaceChildren(...ids.map((id) => el("button", {
      type: "button", class: `btn small${id === view.selected ? " active" : ""}`, text: view.campaigns.get(id).name,
      onclick: () => {
        view.selected = id;
        view.editing = false;
        render();
      },
    })));
  }
  if (!ids.length) tabs.replaceChildren(el("span", { class: "muted", text: t("sup.no_campaigns") }));
}

function setText(id, text) {
  const node = $(id);
  if (node.textContent !== text) node.textContent = text;
}

function gauge(fillId, targetId, value, target) {
  // scale: twice the target, at least 3 %, so the target line sits mid-way
  const scale = Math.max(0.03, (target || 0.015) * 2, value || 0);
  $(fillId).style.width = `${Math.min(100, ((value || 0) / scale) * 100)}%`;
  $(targetId).style.left = `${Math.min(100, ((target || 0) / scale) * 100)}%`;
}

function renderTiles() {
  const c = selected();
  if (!c) return;
  setText("#m-dial", c.dial === null ? "—" : num(c.dial, 2));
  setText("#m-maxratio", c.maxRatio === null ? "—" : num(c.maxRatio, 1));
  setText("#m-inflight", num(c.inFlight));
  setText("#m-answer", pct(c.answer));
  setText("#m-live", pct(c.live));
  setText("#m-abrun", pct(c.abRun, 2));
  setText("#m-util", pct(c.util, 0));
  setText("#m-abtoday", pct(c.abToday, 2));
  setText("#m-ab30", pct(c.ab30, 2));
  setText("#m-target", pct(c.target, 1));
  setText("#m-target30", pct(c.target, 1));
  setText("#m-queue", num(c.queue));
  setText("#m-oldest", c.oldest === null ? "—" : duration(c.oldest));
  setText("#m-mode", t(`mode.${c.mode}`));
  setText("#m-status", c.paused ? t("sup.paused") : t("sup.running"));
  const counts = Object.entries(c.byState).filter(([s]) => s !== "logged_out");
  setText("#m-agentsum", num(counts.reduce((sum, [, n]) => sum + Number(n || 0), 0)));
  $("#by-state").replaceChildren(...["ready", "reserved", "on_call", "wrap_up", "paused"].map((s) =>
    el("div", { class: `count ${s}` }, el("span", { class: "n", text: num(c.byState[s] ?? 0) }), el("span", { text: t(`state.${s}`) }))));
  $("#tile-ab-today").classList.toggle("over", c.abToday !== null && c.target !== null && c.abToday > c.target);
  $("#tile-ab-30").classList.toggle("over", c.ab30 !== null && c.target !== null && c.ab30 > c.target);
  gauge("#g-today", "#g-today-target", c.abToday, c.target);
  gauge("#g-30", "#g-30-target", c.ab30, c.target);
  $("#paused-banner").hidden = !c.paused;
}

function renderControls() {
  const c = selected();
  const form = $("#controls");
  for (const input of form.querySelectorAll("input, select, button")) input.disabled = !c;
  if (!c) return;
  if (!view.editing) {
    $("#c-mode").value = c.mode;
    $("#c-target").value = c.target === null ? "" : (c.target * 100).toFixed(1);
    $("#c-ratio").value = c.maxRatio === null ? "" : Number(c.maxRatio).toFixed(1);
  }
  const pauseBtn = $("#c-pause");
  pauseBtn.textContent = c.paused ? t("sup.resume_campaign") : t("sup.pause_campaign");
  pauseBtn.className = c.paused ? "btn ok" : "btn pause";
}

function renderAgents() {
  const tbody = $("#agents");
  const rows = view.agents.map((a) => {
    const name = a.display_name || a.username;
    const state = a.state || "logged_out";
    return el("tr", { dataset: { agent: a.username } },
      el("td", { text: name }),
      el("td", { text: (a.campaigns || []).join(", ") || a.campaign || "" }),
      el("td", {}, el("span", { class: `pill ${state}`, text: t(`state.${state}`) }),
        state === "paused" && a.reason ? el("span", { class: "muted", text: ` ${reasonText(a.reason)}` }) : null),
      el("td", { class: "num", text: duration(a.seconds_in_state ?? a.time_in_state ?? 0) }),
      el("td", { class: "num", text: num(a.calls ?? 0) }),
      el("td", { class: "num", text: num(a.promises ?? 0) }),
      el("td", {},
        el("button", { type: "button", class: "btn small", text: t("sup.force_pause"), disabled: state === "paused" || state === "logged_out",
          onclick: () => forceAgent(a, "pause") }), " ",
        el("button", { type: "button", class: "btn small danger", text: t("sup.force_logout"), disabled: state === "logged_out",
          onclick: () => forceAgent(a, "logout") })));
  });
  fillRows(tbody, rows, 7);
}

function chartSize() {
  const box = $("#chart");
  const width = Math.max(300, box.clientWidth || box.parentElement.clientWidth - 30);
  const height = 200;
  return { width, height };
}

function clock(seconds) {
  return new Date(seconds * 1000).toLocaleTimeString(locale(), { hour: "2-digit", minute: "2-digit" });
}

function renderChart() {
  const h = view.selected ? view.history.get(view.selected) : null;
  if (!h) return;
  const data = [h.t, h.dial, h.inflight, h.abandon, h.target, h.live, h.util];
  if (chart && chart.campaign === view.selected && chart.lang === document.documentElement.lang) {
    chart.setData(data);
    return;
  }
  chart?.destroy();
  const pctAxis = (u, vals) => vals.map((v) => `${v} %`);
  chart = new uPlot({
    ...chartSize(),
    scales: { x: { time: true, range: () => { const now = view.latest ?? Date.now() / 1000; return [now - HOUR, now]; } }, ratio: { range: (u, lo, hi) => [0, Math.max(3, hi || 0)] }, calls: { range: (u, lo, hi) => [0, Math.max(10, hi || 0)] }, pct: { range: [0, 100] } },
    axes: [
      { space: 90, values: (u, splits) => splits.map((v) => clock(v)) },
      { scale: "ratio", stroke: "#0b5cab" }, // dial level, in its colour
      { scale: "calls", stroke: "#7a8aa0", grid: { show: false } }, // calls in flight
      { scale: "pct", side: 1, values: pctAxis, grid: { show: false } },
    ],
    series: [
      { label: t("sup.time"), value: (u, v) => (v === null ? "—" : clock(v)) },
      { label: t("sup.dial_level"), scale: "ratio", stroke: "#0b5cab", width: 2 },
      { label: t("sup.in_flight"), scale: "calls", stroke: "#7a8aa0", width: 1 },
      { label: t("sup.abandon_today"), scale: "pct", stroke: "#b3261e", width: 2, value: (u, v) => (v === null ? "—" : `${v.toFixed(2)} %`) },
      { label: t("sup.target"), scale: "pct", stroke: "#b3261e", dash: [6, 4], width: 1, value: (u, v) => (v === null ? "—" : `${v.toFixed(1)} %`) },
      { label: t("sup.live_rate"), scale: "pct", stroke: "#1b7f3b", width: 1.5, value: (u, v) => (v === null ? "—" : `${v.toFixed(0)} %`) },
      { label: t("sup.utilization"), scale: "pct", stroke: "#6b4fbb", width: 1.5, value: (u, v) => (v === null ? "—" : `${v.toFixed(0)} %`) },
    ],
  }, data, $("#chart"));
  chart.campaign = view.selected;
  chart.lang = document.documentElement.lang;
}

// ---- controls ---------------------------------------------------------------------------

function control(body) {
  const c = selected();
  if (!c) return;
  socket.send({ type: "control", campaign_id: isNaN(Number(c.id)) ? c.id : Number(c.id), ...body });
}

function applyControls(ev) {
  ev.preventDefault();
  const c = selected();
  if (!c) return;
  const err = $("#c-error");
  err.textContent = "";
  const target = Number($("#c-target").value);
  const ratio = Number($("#c-ratio").value);
  if ($("#c-target").value === "" || !(target >= 0 && target <= 3)) {
    err.textContent = t("camp.err_abandon");
    return;
  }
  if ($("#c-ratio").value === "" || !(ratio >= 1 && ratio <= 10)) {
    err.textContent = t("camp.err_ratio");
    return;
  }
  const changes = {};
  const mode = $("#c-mode").value;
  if (mode !== c.mode) changes.mode = mode;
  const targetRate = Math.round(target * 10) / 1000;
  if (c.target === null || Math.abs(targetRate - c.target) > 1e-9) changes.target_abandon_rate = targetRate;
  if (c.maxRatio === null || Math.abs(ratio - c.maxRatio) > 1e-9) changes.max_dial_ratio = ratio;
  if (Object.keys(changes).length) control({ action: "set", ...changes });
  view.editing = false;
}

async function togglePause() {
  const c = selected();
  if (!c) return;
  if (!c.paused) {
    const ok = await confirmDialog(t("sup.confirm_pause_campaign", { name: c.name }));
    if (!ok) return;
  }
  control({ action: c.paused ? "resume" : "pause" });
}

async function forceAgent(agent, what) {
  const name = agent.display_name || agent.username;
  const onCall = agent.state === "on_call" || agent.state === "reserved";
  const question = what === "pause" ? t("sup.confirm_pause", { agent: name }) : t("sup.confirm_logout", { agent: name });
  const ok = await confirmDialog(question, onCall ? t("sup.confirm_drops", { agent: name }) : "");
  if (!ok) return;
  socket.send({ type: "control", action: what === "pause" ? "force_pause" : "force_logout", agent: agent.username });
}

// ---- list penetration (REST) ------------------------------------------------------------

async function loadPenetration() {
  let rows = [];
  try {
    const data = await api("/api/campaigns/penetration");
    rows = Array.isArray(data) ? data : data?.campaigns || [];
  } catch {
    rows = [];
  }
  const blocked = (r, k) => (r.remaining_by_reason || r.blocked || {})[k] ?? 0;
  fillRows($("#penetration"), rows.map((r) => el("tr", {},
    el("td", { text: r.name ?? r.campaign }),
    el("td", { class: "num", text: num(r.accounts) }),
    el("td", { class: "num", text: num(r.dialed) }),
    el("td", { class: "num", text: num(r.contacted) }),
    el("td", { class: "num", text: num(r.remaining) }),
    el("td", { class: "num", text: num(blocked(r, "outside_window")) }),
    el("td", { class: "num", text: num(blocked(r, "frequency_cap")) }),
    el("td", { class: "num", text: num(blocked(r, "do_not_call")) }))), 8);
}

function init() {
  const s = requireSession(["supervisor"]);
  if (!s) return;
  mountHeader("supervisor");
  loadHistory();
  $("#controls").addEventListener("submit", applyControls);
  $("#controls").addEventListener("input", () => {
    view.editing = true;
  });
  $("#c-pause").addEventListener("click", togglePause);
  document.addEventListener("langchange", () => {
    chart?.destroy();
    chart = null;
    render();
  });
  window.addEventListener("resize", () => chart?.setSize(chartSize()));
  socket = new LiveSocket("/ws/supervisor", { onMessage, onStatus: setConn });
  document.addEventListener("logout", () => socket.close());
  setInterval(saveHistory, 15000);
  setInterval(loadPenetration, 30000);
  loadPenetration();
  render();
  applyI18n();
}

init();
