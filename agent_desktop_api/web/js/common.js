// What every page shares: the session token, REST calls, a websocket that reconnects by
// itself, formatting in the user's language, the header with navigation and language switch.
import { applyI18n, lang, locale, reasonText, t, toggleLang } from "./i18n.js";

const SESSION_KEY = "recobro.session";

export const session = {
  get() {
    try {
      return JSON.parse(sessionStorage.getItem(SESSION_KEY) || "null");
    } catch {
      return null;
    }
  },
  set(value) {
    sessionStorage.setItem(SESSION_KEY, JSON.stringify(value));
  },
  clear() {
    sessionStorage.removeItem(SESSION_KEY);
  },
};

export class ApiError extends Error {
  constructor(status, message, body) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

/** The server's error body as one sentence (FastAPI's {detail} in its several shapes). */
export function errorText(body, status) {
  if (!body) return t("err.server", { status });
  const detail = body.detail ?? body.message ?? body.error;
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) {
    return detail
      .map((d) => (typeof d === "string" ? d : `${(d.loc || []).filter((p) => p !== "body").join(".")}: ${d.msg}`))
      .join("; ");
  }
  if (detail && typeof detail === "object") return detail.message || JSON.stringify(detail);
  return t("err.server", { status });
}

export async function api(path, { method = "GET", body, form, auth = true } = {}) {
  const headers = { Accept: "application/json" };
  const s = session.get();
  if (auth && s?.token) headers.Authorization = `Bearer ${s.token}`;
  let payload;
  if (form) payload = form;
  else if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, { method, headers, body: payload });
  } catch {
    throw new ApiError(0, t("err.network"));
  }
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = { detail: text };
  }
  if (res.status === 401 && auth) {
    session.clear();
    goLogin();
  }
  if (!res.ok) throw new ApiError(res.status, errorText(data, res.status), data);
  return data;
}

export function goLogin() {
  const next = encodeURIComponent(location.pathname + location.search);
  location.replace(`login.html?next=${next}`);
}

/** The session for a page meant for one of `roles`; sends the browser to log in otherwise. */
export function requireSession(roles) {
  const s = session.get();
  if (!s?.token) {
    goLogin();
    return null;
  }
  if (roles && !roles.includes(s.role)) {
    location.replace(`login.html?denied=1`);
    return null;
  }
  return s;
}

/**
 * A websocket that comes back by itself after a drop (1 s, 2 s, 4 s … up to 10 s), telling
 * the page through onStatus, and handing every JSON message to onMessage.
 */
export class LiveSocket {
  constructor(path, { onMessage, onStatus, onOpen }) {
    this.path = path;
    this.onMessage = onMessage;
    this.onStatus = onStatus || (() => {});
    this.onOpen = onOpen || (() => {});
    this.delay = 1000;
    this.closed = false;
    this.ws = null;
    this.queue = [];
    this.connect();
  }

  url() {
    const s = session.get();
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    return `${proto}//${location.host}${this.path}?token=${encodeURIComponent(s?.token || "")}`;
  }

  connect() {
    this.onStatus("connecting");
    const ws = new WebSocket(this.url());
    this.ws = ws;
    ws.onopen = () => {
      this.delay = 1000;
      this.onStatus("online");
      this.onOpen();
      for (const msg of this.queue.splice(0)) ws.send(JSON.stringify(msg));
    };
    ws.onmessage = (ev) => {
      let msg;
      try {
        msg = JSON.parse(ev.data);
      } catch {
        return;
      }
      this.onMessage(msg);
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.onStatus("offline");
      if (this.closed) return;
      if (ev.code === 4401 || ev.code === 1008) {
        session.clear();
        goLogin();
        return;
      }
      setTimeout(() => this.connect(), this.delay);
      this.delay = Math.min(this.delay * 2, 10000);
    };
  }

  /** Sends now when connected, else as soon as the socket is back. */
  send(msg) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(msg));
    else this.queue.push(msg);
  }

  close() {
    this.closed = true;
    this.ws?.close();
  }
}

// ---- formatting -------------------------------------------------------------------------

export function money(amount, currency = "MXN") {
  const value = Number(amount);
  if (amount === null || amount === undefined || Number.isNaN(value)) return "—";
  try {
    return new Intl.NumberFormat(locale(), { style: "currency", currency }).format(value);
  } catch {
    return `${value.toFixed(2)} ${currency}`;
  }
}

export function pct(value, digits = 1) {
  if (value === null || value === undefined || Number.isNaN(Number(value))) return "—";
  return `${(Number(value) * 100).toFixed(digits)} %`;
}

export function num(value, digits = 0) {
  if (value === null || value === undefined || Number.isNaN(Number(value))) return "—";
  return Number(value).toLocaleString(locale(), { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** Seconds as m:ss, or h:mm:ss past an hour. */
export function duration(seconds) {
  const s = Math.max(0, Math.floor(Number(seconds) || 0));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = String(s % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${r}` : `${m}:${r}`;
}

export function dateText(iso) {
  if (!iso) return "—";
  const d = /^\d{4}-\d{2}-\d{2}$/.test(iso) ? new Date(`${iso}T12:00:00`) : new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return d.toLocaleDateString(locale(), { year: "numeric", month: "short", day: "numeric" });
}

export function dateTimeText(iso, timeZone) {
  if (!iso) return "—";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  const opts = { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" };
  if (timeZone) opts.timeZone = timeZone;
  try {
    return d.toLocaleString(locale(), opts);
  } catch {
    return d.toLocaleString(locale());
  }
}

// ---- DOM helpers ------------------------------------------------------------------------

export const $ = (sel, root = document) => root.querySelector(sel);
export const $$ = (sel, root = document) => [...root.querySelectorAll(sel)];

/** Creates an element: el("td", {class: "x", text: "…"}, child…). Text is never parsed as HTML. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "text") node.textContent = value;
    else if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** Replaces a table body's rows; shows one "nothing yet" row when there are none. */
export function fillRows(tbody, rows, columns) {
  tbody.replaceChildren();
  if (!rows.length) {
    tbody.append(el("tr", { class: "empty" }, el("td", { colspan: columns, text: t("common.none") })));
    return;
  }
  for (const row of rows) tbody.append(row);
}

let toastTimer = null;
export function toast(message, kind = "info") {
  let box = $("#toast");
  if (!box) {
    box = el("div", { id: "toast", role: "status", "aria-live": "polite" });
    document.body.append(box);
  }
  box.textContent = message;
  box.className = `toast ${kind} show`;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => box.classList.remove("show"), kind === "error" ? 6000 : 3000);
}

/** A modal yes/no question; resolves true when confirmed. */
export function confirmDialog(message, detail = "") {
  return new Promise((resolve) => {
    const dlg = el(
      "dialog",
      { class: "confirm", "data-testid": "confirm-dialog" },
      el("p", { class: "confirm-msg", text: message }),
      detail ? el("p", { class: "confirm-detail warn", text: detail }) : null,
      el(
        "div",
        { class: "actions" },
        el("button", { type: "button", class: "btn", value: "no", text: t("common.cancel") }),
        el("button", { type: "button", class: "btn danger", value: "yes", text: t("common.confirm") }),
      ),
    );
    for (const b of dlg.querySelectorAll("button")) {
      b.addEventListener("click", () => {
        dlg.close();
        dlg.remove();
        resolve(b.value === "yes");
      });
    }
    dlg.addEventListener("cancel", () => {
      dlg.remove();
      resolve(false);
    });
    document.body.append(dlg);
    dlg.showModal();
  });
}

/** The top bar: brand, the pages this role may open, connection light, language, log out. */
export function mountHeader(active) {
  const s = session.get();
  const header = $("header.top");
  const links = [["agent", "agent.html", ["agent"]], ["supervisor", "supervisor.html", ["supervisor"]],
    ["campaigns", "campaigns.html", ["supervisor"]], ["lists", "lists.html", ["supervisor"]]];
  const nav = el("nav");
  for (const [key, href, roles] of links) {
    if (!s || !roles.includes(s.role)) continue;
    nav.append(el("a", { href, class: key === active ? "active" : "", "data-i18n": `nav.${key}` }));
  }
  const parts = [
    el("span", { class: "brand", "data-i18n": "app.name" }),
    nav,
    el("span", { class: "spacer" }),
    el("span", { id: "conn", class: "conn", hidden: true }),
    s ? el("span", { class: "who", text: s.display_name || s.username || "" }) : null,
    el("button", { type: "button", id: "lang-switch", class: "btn ghost", "data-i18n": "lang.switch", onclick: toggleLang }),
    s ? el("button", { type: "button", id: "logout", class: "btn ghost", "data-i18n": "nav.logout", onclick: logout }) : null,
  ];
  header.replaceChildren(...parts.filter(Boolean));
  applyI18n();
  document.addEventListener("langchange", () => {
    const status = $("#conn")?.dataset.status;
    if (status) setConn(status);
  });
}

export function setConn(status) {
  const light = $("#conn");
  if (!light) return;
  light.hidden = false;
  light.className = `conn ${status}`;
  light.dataset.status = status;
  light.textContent = t(`conn.${status}`);
}

async function logout() {
  document.dispatchEvent(new CustomEvent("logout"));
  try {
    await api("/api/auth/logout", { method: "POST" });
  } catch {
    // the token is forgotten here whatever the server says
  }
  session.clear();
  location.replace("login.html");
}

export { applyI18n, lang, locale, reasonText, t };
