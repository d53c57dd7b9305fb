// Campaigns: the list, and a form to create one or edit one (mode, window, retries, skills,
// pacing limits, script). The server validates again; its message is shown as it comes.
import { $, api, el, fillRows, mountHeader, requireSession, t, toast } from "./common.js";

const RETRY = ["busy", "no_answer", "machine", "abandoned", "failed"];
let editing = null; // the campaign being edited, null when creating

async function loadList() {
  let list = [];
  try {
    const data = await api("/api/campaigns");
    list = Array.isArray(data) ? data : data?.campaigns || [];
  } catch (err) {
    $("#f-error").textContent = err.message;
  }
  fillRows($("#campaigns"), list.map((c) => el("tr", {},
    el("td", { text: c.name }),
    el("td", { text: t(`mode.${c.mode}`) }),
    el("td", { class: "num", text: `${(Number(c.target_abandon_rate) * 100).toFixed(1)} %` }),
    el("td", {}, el("button", { type: "button", class: "btn small", text: t("common.edit"), "aria-label": `${t("camp.edit")}: ${c.name}`, onclick: () => edit(c) })))), 4);
  return list;
}

function retrySeconds(c) {
  const r = c.retry || {};
  return r.delay_seconds || r;
}

function edit(c) {
  editing = c;
  $("#form-title").textContent = c ? `${t("camp.edit")}: ${c.name}` : t("camp.new");
  const form = $("#campaign-form");
  form.reset();
  $("#f-error").textContent = "";
  if (!c) return;
  $("#f-name").value = c.name;
  $("#f-mode").value = c.mode;
  $("#f-start").value = c.window_start || "09:00";
  $("#f-end").value = c.window_end || "20:00";
  $("#f-target").value = (Number(c.target_abandon_rate) * 100).toFixed(1);
  $("#f-ratio").value = c.max_dial_ratio;
  $("#f-wrap").value = c.wrap_up_limit_seconds ?? 60;
  $("#f-horizon").value = c.promise_horizon_days ?? 30;
  $("#f-skills").value = (c.required_skills || []).join(", ");
  $("#f-script").value = c.script || "";
  const r = c.retry || {};
  $("#f-max-attempts").value = r.max_attempts_per_number ?? 10;
  $("#f-max-day").value = r.max_attempts_per_number_per_day ?? 3;
  const delays = retrySeconds(c);
  for (const k of RETRY) if (delays[k]) $(`#r-${k}`).value = Math.round(delays[k] / 60);
}

function fail(input, message) {
  input.setAttribute("aria-invalid", "true");
  input.focus();
  $("#f-error").textContent = message;
  return null;
}

function collect() {
  for (const i of document.querySelectorAll("#campaign-form [aria-invalid]")) i.removeAttribute("aria-invalid");
  $("#f-error").textContent = "";
  const name = $("#f-name").value.trim();
  if (!name) return fail($("#f-name"), t("err.required", { field: t("camp.name") }));
  const start = $("#f-start").value;
  const end = $("#f-end").value;
  if (!start || !end || end <= start) return fail($("#f-end"), t("camp.err_window"));
  const target = Number($("#f-target").value);
  if ($("#f-target").value === "" || !(target >= 0 && target <= 3)) return fail($("#f-target"), t("camp.err_abandon"));
  const ratio = Number($("#f-ratio").value);
  if (!(ratio >= 1 && ratio <= 10)) return fail($("#f-ratio"), t("camp.err_ratio"));
  const delay = {};
  for (const k of RETRY) delay[k] = Math.max(1, Number($(`#r-${k}`).value) || 1) * 60;
  return {
    name,
    mode: $("#f-mode").value,
    window_start: start,
    window_end: end,
    target_abandon_rate: Math.round(target * 10) / 1000,
    max_dial_ratio: ratio,
    wrap_up_limit_seconds: Number($("#f-wrap").value) || 60,
    promise_horizon_days: Number($("#f-horizon").value) || 30,
    required_skills: $("#f-skills").value.split(",").map((s) => s.trim()).filter(Boolean),
    retry: {
      delay_seconds: delay,
      max_attempts_per_number: Number($("#f-max-attempts").value) || 10,
      max_attempts_per_number_per_day: Number($("#f-max-day").value) || 3,
    },
    script: $("#f-script").value,
  };
}

async function save(ev) {
  ev.preventDefault();
  const body = collect();
  if (!body) return;
  try {
    const done = editing ? "camp.updated" : "camp.created";
    if (editing) await api(`/api/campaigns/${editing.id}`, { method: "PATCH", body });
    else await api("/api/campaigns", { method: "POST", body });
    const list = await loadList();
    edit(list.find((c) => c.name === body.name) || null); // the form shows what was stored
    toast(t(done), "ok");
  } catch (err) {
    $("#f-error").textContent = err.message;
  }
}

function init() {
  if (!requireSession(["supervisor"])) return;
  mountHeader("campaigns");
  $("#campaign-form").addEventListener("submit", save);
  $("#new-campaign").addEventListener("click", () => edit(null));
  loadList();
}

init();
