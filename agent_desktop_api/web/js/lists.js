// Upload of an accounts list: the same validation as `recobro import accounts` (the server
// runs the same importer), with the rejected rows shown by line, column, value and reason.
import { $, api, el, fillRows, mountHeader, num, requireSession, t } from "./common.js";

async function loadCampaigns() {
  const select = $("#u-campaign");
  try {
    const data = await api("/api/campaigns");
    const list = Array.isArray(data) ? data : data?.campaigns || [];
    select.replaceChildren(...list.map((c) => el("option", { value: c.name, text: c.name })));
    const wanted = new URLSearchParams(location.search).get("campaign");
    if (wanted) select.value = wanted;
  } catch (err) {
    $("#u-error").textContent = err.message;
  }
}

function showResult(res) {
  $("#result").hidden = false;
  $("#r-imported").textContent = num(res.imported ?? 0);
  $("#r-updated").textContent = num(res.updated ?? 0);
  $("#r-unchanged").textContent = num(res.unchanged ?? 0);
  $("#r-rejected").textContent = num(res.rejected ?? 0);
  const rows = res.rejected_rows ?? res.errors ?? res.rejections ?? [];
  $("#r-all-ok").hidden = rows.length > 0;
  fillRows($("#r-rows"), rows.map((r) => el("tr", { dataset: { line: r.line } },
    el("td", { class: "num", text: r.line ?? "" }),
    el("td", { text: r.column ?? "" }),
    el("td", { class: "mono", text: r.value ?? "" }),
    el("td", { text: r.reason ?? r.message ?? "" }))), 4);
}

async function upload(ev) {
  ev.preventDefault();
  const error = $("#u-error");
  error.textContent = "";
  const file = $("#u-file").files[0];
  if (!file) {
    error.textContent = t("lists.no_file");
    return;
  }
  const form = new FormData();
  form.append("file", file);
  form.append("campaign", $("#u-campaign").value);
  form.append("region", $("#u-region").value);
  const button = $("#u-submit");
  button.disabled = true;
  try {
    showResult(await api("/api/imports/accounts", { method: "POST", form }));
  } catch (err) {
    $("#result").hidden = true;
    error.textContent = t("lists.unreadable", { msg: err.message });
  } finally {
    button.disabled = false;
  }
}

function init() {
  if (!requireSession(["supervisor"])) return;
  mountHeader("lists");
  $("#upload").addEventListener("submit", upload);
  $("#u-file").addEventListener("change", () => {
    const file = $("#u-file").files[0];
    const name = $("#u-file-name");
    name.textContent = file ? file.name : t("lists.no_file_chosen");
    if (!file) name.dataset.i18n = "lists.no_file_chosen";
    else delete name.dataset.i18n;
  });
  loadCampaigns();
}

init();
