// Log in, remember the token for this tab, and open the page the role works in.
import { $, api, mountHeader, session, t } from "./common.js";

const HOME = { agent: "agent.html", supervisor: "supervisor.html" };

function safeNext(role) {
  const next = new URLSearchParams(location.search).get("next") || "";
  // only a page of this site, never an outside address
  const page = next.split("/").pop();
  if (/^[a-z]+\.html(\?.*)?$/.test(page) && page !== "login.html") return page;
  return HOME[role] || "agent.html";
}

function init() {
  mountHeader(null);
  const error = $("#login-error");
  if (new URLSearchParams(location.search).get("denied")) error.textContent = t("login.role");
  $("#login").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    error.textContent = "";
    const username = $("#username").value.trim();
    const password = $("#password").value;
    if (!username || !password) {
      error.textContent = t("err.required", { field: !username ? t("login.user") : t("login.password") });
      return;
    }
    try {
      const res = await api("/api/auth/login", { method: "POST", body: { username, password }, auth: false });
      session.set({
        token: res.token ?? res.access_token,
        role: res.role,
        username: res.username ?? username,
        display_name: res.display_name ?? username,
      });
      location.replace(safeNext(res.role));
    } catch (err) {
      error.textContent = err.status === 401 || err.status === 403 ? t("login.bad") : err.message;
    }
  });
}

init();
