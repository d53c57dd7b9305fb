// The agent desktop: state control, screen pop, call and wrap-up timers, disposition form,
// preview dialing, callbacks due today, keyboard shortcuts. The server is the source of truth:
// after a reload or a dropped socket it sends the current state and screen pop again, and the
// page redraws from them; only the half-typed disposition is kept in the tab (sessionStorage).
import {
  $, $$, api, applyI18n, dateText, dateTimeText, el, fillRows, LiveSocket, locale, mountHeader, money, reasonText,
  requireSession, setConn, t, toast,
} from "./common.js";
import { addDays, todayIn, wallToIso } from "./tz.js";

const DRAFT_KEY = "recobro.disposition-draft";
const ON_CALL = new Set(["reserved", "on_call"]);

const view = {
  state: "logged_out",
  reason: "",
  stateAnchor: Date.now(), // local ms when the state began (server's elapsed applied)
  call: null, // {call_id, number, anchor}
  pop: null, // the normalized screen pop
  needsDisposition: false,
  wrapAnchor: null,
  wrapLimit: 60,
  preview: null,
  callbacks: [],
  sent: false, // the disposition of the call in hand was sent
  skew: 0, // the server's clock minus this browser's (a simulated clock may run on another day)
};

/** Now, as the platform's clock says. */
function serverNow() {
  return Date.now() + view.skew;
}

let socket = null;

// ---- messages from the server -----------------------------------------------------------

function anchorFrom(msg, secondsKey, isoKey) {
  if (typeof msg[secondsKey] === "number") return Date.now() - msg[secondsKey] * 1000;
  if (msg[isoKey]) {
    const at = Date.parse(msg[isoKey]);
    if (!Number.isNaN(at)) return Math.min(at, Date.now());
  }
  return Date.now();
}

function onState(msg) {
  const prev = view.state;
  // the campaign's wrap-up limit ran out before a disposition was sent: the ACD moved on without one
  const expired = msg.reason === "wrap_up_limit" || (msg.state === "ready" && view.needsDisposition && !view.sent);
  if (prev === "wrap_up" && msg.state !== "wrap_up" && expired) toast(t("agent.wrap_expired"), "error");
  view.state = msg.state;
  view.reason = msg.reason || "";
  view.stateAnchor = anchorFrom(msg, "seconds_in_state", "since");
  if (typeof msg.needs_disposition === "boolean") view.needsDisposition = msg.needs_disposition;
  else if (msg.state === "wrap_up") view.needsDisposition = true;
  else if (msg.state === "ready" || msg.state === "paused" || msg.state === "logged_out") view.needsDisposition = false;
  if (msg.state === "wrap_up") {
    view.wrapAnchor = prev === "wrap_up" && view.wrapAnchor ? view.wrapAnchor : view.stateAnchor;
    if (typeof msg.wrap_up_limit_seconds === "number") view.wrapLimit = msg.wrap_up_limit_seconds;
  } else {
    view.wrapAnchor = null;
  }
  if (!ON_CALL.has(msg.state) && msg.state !== "wrap_up" && !view.needsDisposition) {
    view.call = null;
  }
  render();
}

/** Accepts the screen pop as the API sends it and keeps one shape for the page. */
function normalizePop(msg) {
  const acc = msg.account || msg.debtor || {};
  const campaign = msg.campaign || {};
  return {
    call_id: msg.call_id ?? null,
    account_id: acc.id ?? acc.account_id ?? msg.account_id,
    name: acc.debtor_name ?? acc.name ?? "",
    ref: acc.external_ref ?? "",
    segment: acc.segment ?? "",
    balance: acc.balance,
    currency: acc.currency || "MXN",
    dpd: acc.days_past_due,
    due: acc.due_date,
    tz: acc.time_zone || acc.timezone || (acc.time_zones && acc.time_zones[0]) || "America/Mexico_City",
    phones: acc.phones || [],
    payments: msg.payments ?? msg.last_payments ?? acc.payments ?? [],
    promises: msg.promises ?? acc.promises ?? [],
    dispositions: msg.dispositions ?? msg.last_dispositions ?? acc.dispositions ?? [],
    script: msg.script ?? campaign.script ?? "",
    horizon: msg.promise_horizon_days ?? campaign.promise_horizon_days ?? 30,
    wrapLimit: msg.wrap_up_limit_seconds ?? campaign.wrap_up_limit_seconds ?? view.wrapLimit,
    number: msg.number ?? "",
    mode: msg.mode ?? campaign.mode ?? "",
    company: msg.company_name ?? campaign.company_name ?? "",
    today: msg.today ?? null, // the date the server checks promises against
  };
}

function syncClock(msg) {
  const at = msg.now ? Date.parse(msg.now) : NaN;
  if (!Number.isNaN(at)) view.skew = at - Date.now();
}

function onScreenPop(msg) {
  syncClock(msg);
  const pop = normalizePop(msg);
  const sameCall = view.pop && view.pop.call_id === pop.call_id;
  view.pop = pop;
  view.wrapLimit = pop.wrapLimit;
  view.call = {
    call_id: pop.call_id,
    number: pop.number,
    anchor: sameCall && view.call ? view.call.anchor : anchorFrom(msg, "seconds_connected", "connected_at"),
    ended: false,
  };
  view.needsDisposition = true;
  if (!sameCall) {
    view.sent = false;
    resetForm(pop);
  }
  renderPop();
  render();
}

function onCallEnded(msg) {
  if (view.call && (!msg.call_id || msg.call_id === view.call.call_id)) {
    view.call.ended = true;
    view.call.duration = (Date.now() - view.call.anchor) / 1000;
  }
  render();
}

function onDispositionSaved(msg) {
  view.needsDisposition = false;
  sessionStorage.removeItem(DRAFT_KEY);
  $("#disp-form").reset(); // the next call starts from a blank form
  showExtras();
  loadCallbacks(); // a callback disposition adds one
  toast(t("disp.saved"), "ok");
  if (msg.promise && view.pop) {
    view.pop.promises = [msg.promise, ...view.pop.promises];
    renderPop();
  }
  render();
}

function onPreview(msg) {
  syncClock(msg);
  view.preview = msg.account ? normalizePop(msg) : null;
  view.previewEmpty = !msg.account; // the rules leave nothing to dial now
  renderPreview();
}

function onDialStarted(msg) {
  view.preview = null;
  renderPreview();
  toast(t("preview.dialing", { number: msg.number || "" }));
}

function onCallbacks(msg) {
  view.callbacks = msg.callbacks || [];
  renderCallbacks();
}

function onCallbackDue(msg) {
  const cb = msg.callback || msg;
  if (!view.callbacks.some((c) => c.id === cb.id)) view.callbacks.push(cb);
  renderCallbacks();
  toast(t("callbacks.due", { name: cb.debtor_name || "", time: dateTimeText(cb.due_at, cb.time_zone) }));
}

function onError(msg) {
  const text = msg.message || msg.detail || msg.error || "error";
  $("#disp-error").textContent = msg.field ? `${text}` : "";
  toast(text, "error");
}

const HANDLERS = {
  state: onState,
  agent_state: onState,
  screen_pop: onScreenPop,
  call_ended: onCallEnded,
  disposition_saved: onDispositionSaved,
  disposition_ok: onDispositionSaved,
  preview: onPreview,
  dial_started: onDialStarted,
  callbacks: onCallbacks,
  callback_due: onCallbackDue,
  error: onError,
};

function onMessage(msg) {
  const handler = HANDLERS[msg.type];
  if (handler) handler(msg);
}

// ---- drawing ----------------------------------------------------------------------------

function render() {
  const box = $("#state-box");
  box.className = `panel state-box ${view.state}`;
  $("#state-name").textContent = t(`state.${view.state}`);
  $("#state-reason").textContent = view.state === "paused" && view.reason ? reasonText(view.reason) : "";
  const canReady = !view.needsDisposition && !ON_CALL.has(view.state) && view.state !== "ready";
  $("#btn-ready").disabled = !canReady;
  $("#btn-pause").disabled = ON_CALL.has(view.state) || view.state === "paused" || view.needsDisposition;
  $("#must-dispose").hidden = !(view.needsDisposition && !ON_CALL.has(view.state));
  $("#disp-fields").disabled = !view.needsDisposition || !view.pop;
  const callBox = $("#call-box");
  callBox.hidden = !view.call;
  // the ACD hangs up only a connected call (not one still being connected: "reserved")
  $("#btn-hangup").disabled = !view.call || view.call.ended || view.state !== "on_call";
  $("#call-number").textContent = view.call?.number || "";
  $("#btn-preview").disabled = view.state !== "ready" && view.state !== "paused";
  // no preview during a call or its wrap-up: the room goes to the call (1366x768 shows it all)
  $("#preview-box").hidden = ON_CALL.has(view.state) || view.state === "wrap_up";
  const emptyText = $("#pop-empty-text");
  emptyText.dataset.i18n = view.state === "ready" ? "agent.waiting" : view.state === "reserved" ? "agent.connecting" : "agent.no_call";
  emptyText.textContent = t(emptyText.dataset.i18n);
  $("#pop-empty").hidden = !!view.pop;
  $("#pop-full").hidden = !view.pop;
  tick();
}

/** The debtor's clock (the platform's time in the debtor's zone), e.g. "14:05". */
function debtorClock(tz) {
  try {
    return new Date(serverNow()).toLocaleTimeString(locale(), { timeZone: tz, hour: "2-digit", minute: "2-digit" });
  } catch {
    return "—";
  }
}

function tick() {
  const now = Date.now();
  if (view.pop) {
    const clock = debtorClock(view.pop.tz);
    if ($("#pop-local").textContent !== clock) $("#pop-local").textContent = clock;
  }
  $("#state-time").textContent = fmt((now - view.stateAnchor) / 1000);
  if (view.call) {
    const secs = view.call.ended ? view.call.duration : (now - view.call.anchor) / 1000;
    $("#call-timer").textContent = fmt(secs);
  }
  const banner = $("#wrap-banner");
  if (view.state === "wrap_up" && view.wrapAnchor) {
    const used = Math.floor((now - view.wrapAnchor) / 1000);
    const left = view.wrapLimit - used;
    banner.hidden = false;
    banner.classList.toggle("over", left < 0);
    banner.textContent = left >= 0 ? t("agent.wrap_left", { s: fmt(left) }) : t("agent.wrap_over", { s: fmt(-left) });
  } else {
    banner.hidden = true;
  }
}

function fmt(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = String(s % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${r}` : `${m}:${r}`;
}

function fillScript(template, pop) {
  const values = {
    nombre: pop.name, name: pop.name, debtor_name: pop.name,
    saldo: money(pop.balance, pop.currency), balance: money(pop.balance, pop.currency),
    dias_atraso: pop.dpd, days_past_due: pop.dpd,
    vencimiento: dateText(pop.due), due_date: dateText(pop.due),
    empresa: pop.company, company: pop.company,
  };
  return String(template || "").replace(/\{(\w+)\}/g, (m, k) => (k in values ? String(values[k]) : m));
}

function renderPop() {
  const p = view.pop;
  if (!p) return;
  $("#pop-name").textContent = p.name;
  $("#pop-ref").textContent = p.ref;
  $("#pop-segment").textContent = p.segment || "—";
  $("#pop-balance").textContent = money(p.balance, p.currency);
  $("#pop-dpd").textContent = p.dpd ?? "—";
  $("#pop-due").textContent = dateText(p.due);
  $("#pop-tz").textContent = p.tz.split("/").pop().replace(/_/g, " ");
  $("#pop-tz").title = p.tz;
  $("#pop-script").dataset.empty = t("pop.no_script");
  $("#pop-phones").replaceChildren(
    ...p.phones.map((ph) => el("span", { class: `pill${ph.do_not_call ? " broken" : ""}`, text: ph.e164 ?? ph.number ?? String(ph) })),
  );
  $("#pop-script").textContent = fillScript(p.script, p);
  fillRows($("#pop-payments"), p.payments.map((x) => el("tr", {},
    el("td", { text: dateText(x.paid_at ?? x.date) }),
    el("td", { class: "num", text: money(x.amount, x.currency || p.currency) }),
    el("td", { text: x.reference || "" }))), 3);
  fillRows($("#pop-promises"), p.promises.map((x) => el("tr", {},
    el("td", { text: dateText(x.promised_for ?? x.date) }),
    el("td", { class: "num", text: money(x.amount, x.currency || p.currency) }),
    el("td", {}, el("span", { class: `pill ${x.status}`, text: t(`promise.${x.status}`) })))), 3);
  fillRows($("#pop-dispositions"), p.dispositions.map((x) => el("tr", {},
    el("td", { text: dateTimeText(x.created_at ?? x.at) }),
    el("td", { text: t(`disp.${x.code}`) }),
    el("td", { text: x.agent || x.agent_name || "" }),
    el("td", { text: x.notes || "" }))), 4);
  const today = p.today || todayIn(p.tz, new Date(serverNow()));
  const last = addDays(today, p.horizon);
  const date = $("#promise-date");
  date.min = today;
  date.max = last;
  $("#promise-horizon").textContent = t("disp.horizon", { date: dateText(last), days: p.horizon });
  $("#callback-label").textContent = t("disp.callback_at", { tz: p.tz });
}

function renderPreview() {
  const body = $("#preview-body");
  const p = view.preview;
  $("#preview-actions").hidden = !p;
  if (!p) {
    body.className = "muted";
    body.replaceChildren(t(view.previewEmpty ? "preview.nothing" : "preview.none"));
    return;
  }
  body.className = "";
  body.replaceChildren(
    el("div", { class: "name", text: p.name }),
    el("div", {}, `${t("pop.balance")}: `, el("strong", { text: money(p.balance, p.currency) })),
    el("div", { text: `${t("pop.days_past_due")}: ${p.dpd ?? "—"}` }),
    el("div", { class: "mono", text: p.number || (p.phones[0] && (p.phones[0].e164 ?? p.phones[0])) || "" }),
  );
}

function renderCallbacks() {
  const list = $("#callbacks");
  list.replaceChildren();
  if (!view.callbacks.length) {
    list.append(el("li", { class: "muted", text: t("callbacks.none") }));
    return;
  }
  for (const cb of view.callbacks) {
    list.append(el("li", {}, el("strong", { text: dateTimeText(cb.due_at, cb.time_zone) }), " · ",
      cb.debtor_name || cb.external_ref || "", cb.number ? el("span", { class: "mono muted", text: ` ${cb.number}` }) : null));
  }
}

// ---- the disposition form ---------------------------------------------------------------

function selectedCode() {
  return $("input[name=code]:checked")?.value || "";
}

function showExtras() {
  const code = selectedCode();
  $("#promise-fields").hidden = code !== "promise_to_pay";
  $("#callback-fields").hidden = code !== "callback";
}

function resetForm(pop) {
  const draft = JSON.parse(sessionStorage.getItem(DRAFT_KEY) || "null");
  const form = $("#disp-form");
  form.reset();
  $("#disp-error").textContent = "";
  for (const i of $$("input, select, textarea", form)) i.removeAttribute("aria-invalid");
  if (draft && draft.call_id === pop.call_id) {
    const radio = $(`input[name=code][value="${draft.code}"]`);
    if (radio) radio.checked = true;
    $("#promise-amount").value = draft.promise_amount || "";
    $("#promise-date").value = draft.promise_date || "";
    $("#callback-at").value = draft.callback_at || "";
    $("#disp-notes").value = draft.notes || "";
  }
  showExtras();
}

function saveDraft() {
  if (!view.pop) return;
  sessionStorage.setItem(DRAFT_KEY, JSON.stringify({
    call_id: view.pop.call_id, code: selectedCode(), promise_amount: $("#promise-amount").value,
    promise_date: $("#promise-date").value, callback_at: $("#callback-at").value, notes: $("#disp-notes").value,
  }));
}

function invalid(input, message) {
  input.setAttribute("aria-invalid", "true");
  input.focus();
  $("#disp-error").textContent = message;
  return null;
}

/** The disposition message, or null after saying what is wrong (same rules as the server). */
function buildDisposition() {
  const p = view.pop;
  for (const i of $$("#disp-form [aria-invalid]")) i.removeAttribute("aria-invalid");
  $("#disp-error").textContent = "";
  const code = selectedCode();
  if (!code) {
    $("#disp-error").textContent = t("disp.pick_code");
    return null;
  }
  const notes = $("#disp-notes").value;
  if (notes.length > 2000) return invalid($("#disp-notes"), t("disp.err_notes"));
  const msg = { type: "disposition", call_id: p.call_id, account_id: p.account_id, code, notes,
    idempotency_key: `${p.call_id || p.account_id}:${code}` };
  if (code === "promise_to_pay") {
    const amountInput = $("#promise-amount");
    const amount = Number(amountInput.value);
    if (!amountInput.value || !(amount > 0) || amount > Number(p.balance)) {
      return invalid(amountInput, t("disp.err_amount", { balance: money(p.balance, p.currency) }));
    }
    const dateInput = $("#promise-date");
    const d = dateInput.value;
    if (!d || d < dateInput.min || d > dateInput.max) {
      return invalid(dateInput, t("disp.err_date", { date: dateText(dateInput.max) }));
    }
    msg.promise_amount = amount.toFixed(2);
    msg.promise_date = d;
  }
  if (code === "callback") {
    const input = $("#callback-at");
    const iso = wallToIso(input.value, p.tz);
    const at = iso ? Date.parse(iso) : NaN;
    const now = serverNow();
    if (!iso || !(at > now) || at > now + p.horizon * 86400000) {
      return invalid(input, t("disp.err_callback"));
    }
    msg.callback_at = iso;
  }
  return msg;
}

function submitDisposition(ev) {
  ev?.preventDefault();
  if ($("#disp-fields").disabled) return;
  const msg = buildDisposition();
  if (msg) {
    view.sent = true;
    socket.send(msg);
  }
}

// ---- actions ----------------------------------------------------------------------------

function goReady() {
  if (!$("#btn-ready").disabled) socket.send({ type: "ready" });
}

function goPause() {
  if (!$("#btn-pause").disabled) socket.send({ type: "pause", reason: $("#pause-reason").value });
}

function hangUp() {
  if (!$("#btn-hangup").disabled) socket.send({ type: "hangup", call_id: view.call?.call_id });
}

function requestPreview() {
  socket.send({ type: "preview_request" });
}

function dialPreview() {
  if (view.preview) socket.send({ type: "preview_dial", account_id: view.preview.account_id });
}

function skipPreview() {
  if (!view.preview) return;
  socket.send({ type: "preview_skip", account_id: view.preview.account_id, reason: $("#skip-reason").value });
  view.preview = null;
  view.previewEmpty = false;
  renderPreview();
}

function onKey(ev) {
  const keys = { F2: goReady, F3: goPause, F4: hangUp, F6: dialPreview, F7: skipPreview };
  if (keys[ev.key]) {
    ev.preventDefault();
    keys[ev.key]();
  } else if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) {
    ev.preventDefault();
    submitDisposition();
  }
}

async function loadCallbacks() {
  try {
    const data = await api("/api/agents/me/callbacks?due=today");
    view.callbacks = Array.isArray(data) ? data : data?.callbacks || [];
  } catch {
    view.callbacks = [];
  }
  renderCallbacks();
}

function init() {
  const s = requireSession(["agent"]);
  if (!s) return;
  mountHeader("agent");
  render();
  renderPreview();
  renderCallbacks();
  $("#btn-ready").addEventListener("click", goReady);
  $("#btn-pause").addEventListener("click", goPause);
  $("#btn-hangup").addEventListener("click", hangUp);
  $("#btn-preview").addEventListener("click", requestPreview);
  $("#btn-dial").addEventListener("click", dialPreview);
  $("#btn-skip").addEventListener("click", skipPreview);
  $("#disp-form").addEventListener("submit", submitDisposition);
  $("#disp-form").addEventListener("input", (ev) => {
    if (ev.target.getAttribute?.("aria-invalid")) $("#disp-error").textContent = ""; // being fixed
    ev.target.removeAttribute?.("aria-invalid");
    showExtras();
    saveDraft();
  });
  document.addEventListener("keydown", onKey);
  document.addEventListener("langchange", () => {
    render();
    renderPop();
    renderPreview();
    renderCallbacks();
  });
  socket = new LiveSocket("/ws/agent", { onMessage, onStatus: setConn });
  document.addEventListener("logout", () => socket.close());
  setInterval(tick, 250);
  loadCallbacks();
  applyI18n();
}

init();
