// SharpKeeper's console: polls the console API, draws the live figures, browses and (with
// AdminServer authorization) changes the tree. No framework, no network beyond this server.
"use strict";

const $ = (selector) => document.querySelector(selector);
const POLL_MS = 2000;
const KEEP = 90;

const charts = [
  { key: "throughput", title: "requests / s", unit: "" },
  { key: "latency", title: "average latency", unit: " ms" },
  { key: "outstanding", title: "outstanding requests", unit: "" },
  { key: "znodes", title: "znodes", unit: "" },
  { key: "fsync", title: "fsync time", unit: " ms" },
];
const series = Object.fromEntries(charts.map((c) => [c.key, []]));
let previous = null;
let currentPath = "/";
let currentData = null;
let view = "text";

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  for (const child of children) node.append(child);
  return node;
}

async function getJson(url, options) {
  const response = await fetch(url, options);
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.error || response.statusText);
  return body;
}

function buildCharts() {
  const container = $("#charts");
  for (const chart of charts) {
    const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    svg.setAttribute("viewBox", `0 0 ${KEEP} 48`);
    svg.setAttribute("preserveAspectRatio", "none");
    svg.setAttribute("class", "chart-line");
    svg.setAttribute("data-points", "0");
    svg.append(document.createElementNS("http://www.w3.org/2000/svg", "polyline"));
    container.append(el("div", { class: "chart", id: `chart-${chart.key}` }, el("h3", {}, chart.title), el("div", { class: "value" }, "–"), svg));
  }
}

function drawChart(chart) {
  const values = series[chart.key];
  const box = $(`#chart-${chart.key}`);
  const svg = box.querySelector("svg");
  const max = Math.max(1e-9, ...values);
  // Spread over the whole width from the first points on, then scroll as the window fills.
  const step = values.length > 1 ? (KEEP - 1) / (values.length - 1) : 0;
  const points = values.map((v, i) => `${(i * step).toFixed(2)},${(46 - (v / max) * 44).toFixed(2)}`).join(" ");
  svg.querySelector("polyline").setAttribute("points", points);
  svg.setAttribute("data-points", String(values.length));
  const last = values.length ? values[values.length - 1] : null;
  box.querySelector(".value").textContent = last === null ? "–" : `${Math.round(last * 100) / 100}${chart.unit}`;
}

function push(key, value) {
  const values = series[key];
  values.push(value);
  if (values.length > KEEP) values.shift();
}

async function pollOverview() {
  try {
    const o = await getJson("/console/api/overview");
    const mode = $("#mode");
    mode.textContent = o.server_state;
    mode.className = `badge ${o.server_state}`;
    $("#server").textContent = `server ${o.server_id} · ${o.version}`;
    $("#zxid").textContent = `zxid ${o.zxid}`;
    if (previous) {
      const seconds = Math.max(0.001, (o.unix_millis - previous.unix_millis) / 1000);
      const fsyncs = (o.cnt_fsynctime ?? 0) - (previous.cnt_fsynctime ?? 0);
      push("throughput", Math.max(0, (o.packets_received - previous.packets_received) / seconds));
      push("fsync", fsyncs > 0 ? ((o.sum_fsynctime ?? 0) - (previous.sum_fsynctime ?? 0)) / fsyncs : 0);
    }
    push("latency", o.avg_latency);
    push("outstanding", o.outstanding_requests);
    push("znodes", o.znode_count);
    previous = o;
    charts.forEach(drawChart);
  } catch (error) {
    $("#mode").textContent = "down";
    $("#mode").className = "badge down";
  }
}

async function pollEnsemble() {
  try {
    const members = await getJson("/console/api/ensemble");
    const body = $("#ensemble tbody");
    body.replaceChildren(...members.map((m) =>
      el("tr", { "data-mode": m.mode }, el("td", {}, String(m.id)), el("td", {}, m.address), el("td", {}, m.mode),
        el("td", {}, m.zxid ?? "–"), el("td", {}, m.lag ?? "–"), el("td", {}, m.connections ?? "–"), el("td", {}, m.outstanding ?? "–"))));
  } catch (error) {
    // The next poll tries again.
  }
}

function decode(base64) {
  const binary = atob(base64 ?? "");
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

function renderData() {
  const target = $("#data");
  if (!currentData) { target.textContent = ""; return; }
  if (currentData.data_error) { target.textContent = currentData.data_error; return; }
  const bytes = decode(currentData.data);
  if (view === "hex") {
    const lines = [];
    for (let i = 0; i < bytes.length; i += 16) {
      const row = Array.from(bytes.slice(i, i + 16), (b) => b.toString(16).padStart(2, "0"));
      lines.push(`${i.toString(16).padStart(8, "0")}  ${row.join(" ")}`);
    }
    target.textContent = lines.join("\n");
    return;
  }
  const text = new TextDecoder().decode(bytes);
  if (view === "json") {
    try { target.textContent = JSON.stringify(JSON.parse(text), null, 2); } catch { target.textContent = "(not JSON)"; }
    return;
  }
  target.textContent = text;
}

async function open(path) {
  currentPath = path;
  $("#write-path").value = path;
  const crumbs = $("#crumbs");
  const parts = path.split("/").filter(Boolean);
  const links = [el("a", { "data-path": "/" }, "/")];
  parts.forEach((part, i) => links.push(el("a", { "data-path": "/" + parts.slice(0, i + 1).join("/") }, part + (i < parts.length - 1 ? "/" : ""))));
  crumbs.replaceChildren(...links);
  try {
    currentData = await getJson(`/console/api/node?path=${encodeURIComponent(path)}`);
    $("#children").replaceChildren(...currentData.children.map((name) =>
      el("li", { "data-path": (path === "/" ? "" : path) + "/" + name }, name)));
    const shown = (k, v) => (k === "ctime" || k === "mtime") && v > 0 ? `${new Date(v).toISOString()} (${v})` : String(v);
    $("#stat").replaceChildren(...Object.entries(currentData.stat).map(([k, v]) => el("tr", {}, el("th", {}, k), el("td", {}, shown(k, v)))));
    $("#acl").replaceChildren(...currentData.acl.map((a) => el("li", {}, `${a.scheme}:${a.id} ${a.perms}`)));
  } catch (error) {
    currentData = null;
    $("#children").replaceChildren(el("li", { class: "error" }, error.message));
  }
  renderData();
}

async function write(method) {
  const path = $("#write-path").value.trim();
  const result = $("#write-result");
  const headers = { "Content-Type": "application/json" };
  const auth = $("#auth").value.trim();
  if (auth) headers.Authorization = auth;
  const data = $("#write-data").value;
  const url = method === "DELETE" ? `/console/api/node?path=${encodeURIComponent(path)}` : "/console/api/node";
  try {
    await getJson(url, { method, headers, body: method === "DELETE" ? undefined : JSON.stringify({ path, data }) });
    result.textContent = `${method === "POST" ? "created" : method === "PUT" ? "set" : "deleted"} ${path}`;
    result.className = "";
    const parent = method === "POST" || method === "DELETE" ? path.replace(/\/[^/]*$/, "") || "/" : path;
    await open(parent);
  } catch (error) {
    result.textContent = error.message;
    result.className = "error";
  }
}

document.addEventListener("click", (event) => {
  const target = event.target.closest("[data-path]");
  if (target) open(target.getAttribute("data-path"));
  const tab = event.target.closest("[data-view]");
  if (tab) {
    view = tab.getAttribute("data-view");
    document.querySelectorAll("[data-view]").forEach((b) => b.classList.toggle("active", b === tab));
    renderData();
  }
});
$("#create").addEventListener("click", () => write("POST"));
$("#set").addEventListener("click", () => write("PUT"));
$("#delete").addEventListener("click", () => write("DELETE"));

buildCharts();
open("/");
pollOverview();
pollEnsemble();
setInterval(pollOverview, POLL_MS);
setInterval(pollEnsemble, POLL_MS * 2);
