// The Functions dashboard: the functions from /_wfn/api/functions, then
// invocations, logs and the functions' numbers pushed by /_wfn/events
// (server-sent events).
"use strict";

const maxRows = 300;
const levels = { DEBUG: 0, INFO: 1, WARN: 2, ERROR: 3 };
let logs = []; // the records shown, oldest first

function cell(tr, text, cls) {
  const td = document.createElement("td");
  td.textContent = text;
  if (cls) td.className = cls;
  tr.appendChild(td);
  return td;
}

function time(t) {
  return new Date(t).toLocaleTimeString(undefined, { hour12: false }) + "." + String(new Date(t).getMilliseconds()).padStart(3, "0");
}

function showFunctions(fns) {
  const body = document.querySelector("#functions tbody");
  body.replaceChildren();
  const select = document.getElementById("log-fn");
  const chosen = select.value;
  select.replaceChildren(new Option("all", ""));
  for (const f of fns) {
    const tr = document.createElement("tr");
    tr.dataset.source = f.source;
    cell(tr, f.route);
    cell(tr, f.source);
    cell(tr, f.state, "state-" + f.state);
    cell(tr, f.requests, "num");
    cell(tr, f.requests ? f.p50_ms.toFixed(1) + " ms" : "–", "num p50");
    cell(tr, f.requests ? f.p99_ms.toFixed(1) + " ms" : "–", "num p99");
    cell(tr, f.live + " (" + f.idle + " idle)", "num");
    cell(tr, f.error || "", "err");
    body.appendChild(tr);
    select.appendChild(new Option(f.source, f.source));
  }
  select.value = chosen;
}

function addInvocation(inv) {
  const body = document.querySelector("#invocations tbody");
  const tr = document.createElement("tr");
  tr.dataset.id = inv.id;
  cell(tr, time(inv.time));
  cell(tr, inv.method);
  cell(tr, inv.path);
  cell(tr, inv.status, "num status-" + String(inv.status)[0]);
  cell(tr, inv.duration_ms.toFixed(1) + " ms", "num");
  cell(tr, inv.bytes, "num");
  cell(tr, inv.fn || "");
  cell(tr, inv.fresh ? "fresh" : "");
  cell(tr, inv.cache || "");
  cell(tr, inv.id);
  body.prepend(tr);
  while (body.rows.length > maxRows) body.deleteRow(-1);
}

function shown(rec) {
  const fn = document.getElementById("log-fn").value;
  const level = document.getElementById("log-level").value;
  return (!fn || rec.fn === fn) && (levels[rec.level] ?? 3) >= levels[level];
}

function renderLogs() {
  const body = document.querySelector("#logs tbody");
  body.replaceChildren();
  for (const rec of logs.filter(shown).slice(-maxRows).reverse()) body.appendChild(logRow(rec));
}

function logRow(rec) {
  const tr = document.createElement("tr");
  cell(tr, time(rec.time));
  cell(tr, rec.level, "level-" + rec.level);
  cell(tr, rec.fn || "");
  cell(tr, rec.msg, "err");
  cell(tr, rec.id || "");
  cell(tr, Object.entries(rec.attrs || {}).map(([k, v]) => k + "=" + v).join(" "), "err");
  return tr;
}

function addLog(rec) {
  const errorsOnly = document.getElementById("log-errors").checked;
  if (errorsOnly && !(rec.level === "ERROR" || (rec.attrs && rec.attrs.stream === "stderr"))) return;
  logs.push(rec);
  if (logs.length > 2000) logs.shift();
  if (shown(rec)) {
    const body = document.querySelector("#logs tbody");
    body.prepend(logRow(rec));
    while (body.rows.length > maxRows) body.deleteRow(-1);
  }
}

async function loadLogs() {
  const errors = document.getElementById("log-errors").checked;
  const r = await fetch("/_wfn/api/logs" + (errors ? "?errors=1" : ""));
  logs = await r.json();
  renderLogs();
}

async function start() {
  const events = new EventSource("/_wfn/events");
  const status = document.getElementById("status");
  events.onopen = () => { status.textContent = "live"; };
  events.onerror = () => { status.textContent = "reconnecting…"; };
  events.addEventListener("invocation", (e) => addInvocation(JSON.parse(e.data)));
  events.addEventListener("log", (e) => addLog(JSON.parse(e.data)));
  events.addEventListener("functions", (e) => showFunctions(JSON.parse(e.data)));
  for (const id of ["log-fn", "log-level"]) document.getElementById(id).addEventListener("change", renderLogs);
  document.getElementById("log-errors").addEventListener("change", loadLogs);
  showFunctions(await (await fetch("/_wfn/api/functions")).json());
  await loadLogs();
}

start();
