"use strict";
// The commitdb editor page. Plain JS, no build step. Everything comes from /api; the server
// pushes a "changed" event (server-sent events) when anything was written, so nothing polls.

const ROW = 22, LANE = 14, PAGE = 200;
const COLORS = { Mutations: "#2f6fde", Merge: "#8e44ad", Enable: "#27ae60", Disable: "#c0392b" };
const LANE_COLORS = ["#2f6fde", "#e67e22", "#16a085", "#8e44ad", "#c0392b", "#7f8c8d", "#d4ac0d", "#2c3e50"];
const $ = (id) => document.getElementById(id);
const S = {
  status: null, pages: new Map(), total: 0, width: 1, rendering: false,
  attachment: null, key: null, keyAttachment: null, history: [], historyAt: -1,
  tab: "undo", programCommit: null, actionsShown: 200, blobSort: "id", sourceMissing: false,
};

// --- server calls ------------------------------------------------------------------------------
async function api(path, body, raw) {
  const options = body === undefined ? {} : {
    method: "POST",
    headers: { "X-Commitdb-Editor": "1", "Content-Type": raw ? "application/octet-stream" : "application/json" },
    body: raw ? body : JSON.stringify(body),
  };
  let response;
  try { response = await fetch(path, options); }
  catch (e) { throw new Error("the editor server cannot be reached (" + e.message + ")"); }
  const data = await response.json().catch(() => ({ error: "bad answer from the editor (" + response.status + ")" }));
  if (!response.ok) { const e = new Error(data.error || response.statusText); e.kind = data.kind; throw e; }
  return data;
}
function showError(message) { const e = $("error"); e.textContent = message; e.classList.remove("hidden"); }
function clearError() { $("error").classList.add("hidden"); }
async function act(fn) {
  try { clearError(); return await fn(); }
  catch (e) { showError(e.message); return undefined; }
}
async function write(path, body) { const result = await api(path, body || {}); await refresh(); return result; }
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") node.className = v; else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (k === "text") node.textContent = v; else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children) if (c !== null && c !== undefined) node.append(c);
  return node;
}
const short = (id) => id ? id.slice(0, 8) : "—";

// --- status and headers ----------------------------------------------------------------------------
async function refresh() {
  const status = await api("/api/status");
  const changed = !S.status || S.status.token.join() !== status.token.join() || S.status.current !== status.current
    || S.status.marked !== status.marked;
  S.status = status;
  document.title = status.title + " — commitdb editor";
  $("title").textContent = status.title;
  $("summary").textContent = `${status.commits} commits · ${status.heads.length} head${status.heads.length === 1 ? "" : "s"}`;
  $("btn-undo").disabled = !status.can_undo;
  $("btn-redo").disabled = !status.can_redo;
  $("btn-merge-marked").disabled = !status.mergeable;
  $("btn-toggle-marked").disabled = !status.marked;
  $("btn-delete").disabled = !status.current || !status.heads.includes(status.current) || status.commits < 2;
  $("btn-merge-heads").disabled = status.heads.length < 2;
  renderUndo();
  if (changed) {
    S.pages.clear();
    await Promise.all([renderHeaders(), renderGraph(), reloadBrowser(), renderTab()]);
  }
}

async function renderHeaders() {
  for (const [which, id] of [["current", S.status.current], ["marked", S.status.marked]]) {
    const box = $(which + "-header");
    box.replaceChildren();
    if (!id) { box.append(el("div", { class: "hint", text: which === "marked" ? "ctrl-click a commit to mark it" : "no commit" })); continue; }
    const h = await api("/api/commits/" + id);
    const dl = el("dl");
    for (const [name, value] of [["id", h.id], ["parent", h.parent], ["type", h.type], ["target", h.target], ["label", h.label], ["date", h.time]]) {
      const copy = ["id", "parent", "target"].includes(name)
        ? el("button", { class: "copy", title: "copy", "data-testid": `${which}-copy-${name}`, onclick: () => navigator.clipboard && navigator.clipboard.writeText(value) }, "copy")
        : el("span");
      dl.append(el("dt", { text: name }), el("dd", { text: value, title: value, "data-testid": `${which}-${name}` }), copy);
    }
    box.append(dl);
    $("btn-toggle-marked").textContent = "Disable marked";
    if (which === "marked") {
      const row = await rowData(h.row);
      if (row && row.state === "disabled") $("btn-toggle-marked").textContent = "Enable marked";
    }
  }
}

// --- the history graph (only visible rows are drawn; pages come from the server) ------------------
async function page(index) {
  if (!S.pages.has(index)) S.pages.set(index, api(`/api/graph?offset=${index * PAGE}&limit=${PAGE}`).then((p) => {
    S.total = p.total; S.width = Math.max(1, p.width); return p.rows;
  }));
  return S.pages.get(index);
}
async function rowData(r) {
  if (r === null || r === undefined || r < 0) return null;
  const rows = await page(Math.floor(r / PAGE));
  return rows[r % PAGE] || null;
}
async function renderGraph() {
  const current = latest("graph");
  const graph = $("graph");
  if (!S.pages.size) await page(0);
  $("graph-spacer").style.height = S.total * ROW + "px";
  const first = Math.max(0, Math.floor(graph.scrollTop / ROW) - 5);
  const last = Math.min(S.total - 1, Math.ceil((graph.scrollTop + graph.clientHeight) / ROW) + 5);
  const rows = new Map();
  const wanted = [];
  for (let p = Math.floor(Math.max(0, first - 1) / PAGE); p <= Math.floor((last + 1) / PAGE); p++) wanted.push(page(p));
  await Promise.all(wanted);
  for (let r = Math.max(0, first - 1); r <= Math.min(S.total - 1, last + 1); r++) rows.set(r, await rowData(r));
  if (current()) drawRows(first, last, rows);
}
function drawRows(first, last, rows) {
  const layer = $("graph-layer");
  const width = 14 + S.width * LANE;
  const svgNS = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(svgNS, "svg");
  svg.setAttribute("width", width);
  svg.setAttribute("height", Math.max(0, last - first + 1) * ROW);
  svg.style.top = first * ROW + "px";
  const x = (lane) => 10 + lane * LANE, y = (r) => (r - first) * ROW + ROW / 2;
  const line = (x1, y1, x2, y2, color, dashed) => {
    const p = document.createElementNS(svgNS, "path");
    const midY = (y1 + y2) / 2;
    p.setAttribute("d", x1 === x2 ? `M${x1},${y1}L${x2},${y2}` : `M${x1},${y1}C${x1},${midY} ${x2},${midY} ${x2},${y2}`);
    p.setAttribute("stroke", color); p.setAttribute("fill", "none"); p.setAttribute("stroke-width", "1.6");
    if (dashed) p.setAttribute("stroke-dasharray", "3,2");
    svg.append(p);
  };
  for (let r = first - 1; r <= last; r++) {
    const row = rows.get(r);
    if (!row) continue;
    const before = new Set((rows.get(r - 1) || { after: [] }).after.map(([l, t]) => l + ":" + t));
    const next = rows.get(r + 1);
    for (const [lane, target] of row.after) {
      const color = LANE_COLORS[lane % LANE_COLORS.length];
      const bx = target === r + 1 && next ? x(next.lane) : x(lane);
      if (row.parent_row === target || row.target_row === target) {
        line(x(row.lane), y(r), bx, y(r + 1), color, row.target_row === target && row.parent_row !== target);
      }
      if (before.has(lane + ":" + target) || (row.parent_row !== target && row.target_row !== target)) {
        line(x(lane), y(r), bx, y(r + 1), color, false);
      }
    }
  }
  const htmlRows = [];
  for (let r = first; r <= last; r++) {
    const row = rows.get(r);
    if (!row) continue;
    const grey = row.state === "disabled" || row.state === "outside";
    const isCurrent = S.status && row.id === S.status.current;
    const c = document.createElementNS(svgNS, "circle");
    c.setAttribute("cx", x(row.lane)); c.setAttribute("cy", y(r)); c.setAttribute("r", isCurrent ? 6 : 4.5);
    const color = grey ? "#b8b8b8" : COLORS[row.type] || "#555";
    c.setAttribute("stroke", color); c.setAttribute("stroke-width", "2");
    c.setAttribute("fill", isCurrent ? color : "#fff");
    c.setAttribute("data-testid", "graph-node"); c.setAttribute("data-commit", row.id); c.setAttribute("data-type", row.type);
    svg.append(c);
    const classes = ["grow-row", row.state, isCurrent ? "current" : "", S.status && row.id === S.status.marked ? "marked" : ""];
    htmlRows.push(el("div", {
      class: classes.join(" "), style: `top:${r * ROW}px;padding-left:${width}px`, "data-testid": "commit-row",
      "data-commit": row.id, "data-row": r, "data-state": row.state, "data-type": row.type, "data-head": row.head ? "1" : null,
      title: `${row.type} ${row.id}\n${row.label}\n${row.time}`,
      onclick: (ev) => act(() => ev.ctrlKey || ev.metaKey || ev.shiftKey
        ? write("/api/mark", { commit: S.status.marked === row.id ? null : row.id })
        : write("/api/select", { commit: row.id })),
    },
    el("span", { class: "order", text: row.order ? String(row.order) : "" }),
    el("span", { class: "cid", text: short(row.id) }),
    row.head ? el("span", { class: "head-tag", text: "head" }) : null,
    el("span", { class: "label", text: row.label }),
    el("span", { class: "time", text: row.time.slice(0, 19).replace("T", " ") })));
  }
  layer.replaceChildren(svg, ...htmlRows);
}
let scrollPending = false;
$("graph").addEventListener("scroll", () => {
  if (scrollPending) return;
  scrollPending = true;
  requestAnimationFrame(() => { scrollPending = false; act(renderGraph); });
});
$("graph").addEventListener("keydown", (ev) => {
  const direction = { ArrowUp: "up", ArrowDown: "down", ArrowLeft: "left", ArrowRight: "right" }[ev.key];
  if (!direction) return;
  ev.preventDefault();
  act(async () => { await write("/api/navigate", { direction }); await scrollToCurrent(); });
});
async function scrollToCurrent() {
  if (!S.status.current) return;
  const { row } = await api("/api/graph/row?commit=" + S.status.current);
  const graph = $("graph");
  if (row * ROW < graph.scrollTop || (row + 1) * ROW > graph.scrollTop + graph.clientHeight) {
    graph.scrollTop = row * ROW - graph.clientHeight / 2;
  }
}

// --- toolbar -------------------------------------------------------------------------------------------
function confirmDialog(text) {
  return new Promise((resolve) => {
    const dialog = $("confirm");
    $("confirm-text").textContent = text;
    dialog.onclose = () => resolve(dialog.returnValue === "ok");
    dialog.showModal();
  });
}
$("btn-forward").onclick = () => act(async () => { await write("/api/forward"); await scrollToCurrent(); });
$("btn-merge-heads").onclick = () => act(() => write("/api/merge-heads"));
$("btn-undo").onclick = () => act(() => write("/api/undo"));
$("btn-redo").onclick = () => act(() => write("/api/redo"));
$("btn-merge-marked").onclick = () => act(() => write("/api/merge-marked"));
$("btn-toggle-marked").onclick = () => act(async () => {
  const { row } = await api("/api/graph/row?commit=" + S.status.marked);
  const state = (await rowData(row) || {}).state;
  const enable = state === "disabled" ? true : state === "enabled" ? false : undefined;
  await write("/api/toggle", { commit: S.status.marked, enable });
});
$("btn-delete").onclick = () => act(async () => {
  if (await confirmDialog(`Delete the head ${short(S.status.current)}? This removes the commit from the database.`))
    await write("/api/delete-head", { commit: S.status.current });
});
$("btn-reset").onclick = () => act(async () => {
  if (await confirmDialog("Reset keeps only the first commit and removes every other one. Continue?"))
    await write("/api/reset", { confirm: "reset" });
});
document.addEventListener("keydown", (ev) => {
  if (!(ev.ctrlKey || ev.metaKey) || ev.target.tagName === "INPUT") return;
  if (ev.key === "z" && !ev.shiftKey && S.status.can_undo) { ev.preventDefault(); act(() => write("/api/undo")); }
  if ((ev.key === "y" || (ev.key === "Z" && ev.shiftKey)) && S.status.can_redo) { ev.preventDefault(); act(() => write("/api/redo")); }
});

// --- document browser -----------------------------------------------------------------------------
// Renders overlap (an action's refresh and a pushed change): each render draws only if no later
// render of the same part started meanwhile.
const generation = {};
const latest = (part) => { const g = (generation[part] || 0) + 1; generation[part] = g; return () => generation[part] === g; };

async function reloadBrowser() {
  const current = latest("abstractions");
  const groups = await api("/api/abstractions");
  if (!current()) return;
  const box = $("abstractions");
  box.replaceChildren();
  for (const g of groups) {
    box.append(el("div", { class: "group", text: `${g.name} (${g.kind})`, title: g.documentation, "data-testid": "abstraction" }));
    for (const a of g.attachments) {
      box.append(el("div", {
        class: "item" + (S.attachment === a.id ? " selected" : ""), "data-testid": "attachment-item", "data-name": a.name,
        title: `${a.identifier}: ${a.document_type}`, onclick: () => act(() => go({ attachment: a.id, key: null })),
      }, `  ${a.name} → ${a.document_type}`));
    }
  }
  $("btn-new-instance").disabled = !S.attachment;
  await renderKeys();
}
async function renderKeys() {
  const current = latest("keys");
  if (!S.attachment) { $("keys").replaceChildren(); $("attachments").replaceChildren(); return; }
  const keys = await api("/api/keys?attachment=" + encodeURIComponent(S.attachment));
  if (!current()) return;
  const box = $("keys");
  box.replaceChildren();
  for (const k of keys) {
    box.append(el("div", {
      class: "item" + (S.key === k.key ? " selected" : ""), "data-testid": "key-item", "data-instance": k.instance,
      title: k.key, onclick: () => act(() => go({ attachment: S.attachment, key: k.key })),
    }, k.instance));
  }
  if (!keys.length) box.append(el("div", { class: "hint", text: "no instance" }));
  await renderDocument();
}
async function renderDocument() {
  const current = latest("document");
  const tbody = $("doc").querySelector("tbody");
  if (!S.key) {
    tbody.replaceChildren(); $("attachments").replaceChildren();
    $("doc-title").textContent = ""; $("doc-empty").textContent = "select a key"; return;
  }
  const attachments = await api("/api/instance?key=" + encodeURIComponent(S.key));
  const doc = await api(`/api/document?attachment=${encodeURIComponent(S.attachment)}&key=${encodeURIComponent(S.key)}`);
  if (!current()) return;
  tbody.replaceChildren();
  $("doc-empty").textContent = "";
  const abox = $("attachments");
  abox.replaceChildren();
  for (const a of attachments) {
    const item = el("div", {
      class: "item" + (a.id === S.attachment ? " selected" : "") + (a.present ? "" : " absent"), "data-testid": "instance-attachment",
      "data-name": a.name, title: a.document_type,
      onclick: () => act(() => a.present ? go({ attachment: a.id, key: S.key })
        : edit({ op: "add_attachment", attachment: a.id, key: S.key }).then(() => go({ attachment: a.id, key: S.key }))),
    }, a.present ? a.name : `+ add ${a.name}`);
    abox.append(item);
  }
  $("doc-title").textContent = `${doc.document_type} · ${S.key.split(":")[0]}`;
  if (!doc.exists) { $("doc-empty").textContent = "no document for this key in the selected state"; return; }
  for (const row of doc.rows) tbody.append(docRow(row));
  if (doc.truncated) $("doc-empty").textContent = "the document is long: only its first rows are shown";
}
function docRow(row) {
  const tr = el("tr", { "data-testid": "doc-row", "data-path": row.path_text, "data-kind": row.kind });
  const valueCell = el("td", { class: "value", "data-testid": "doc-value", text: row.display });
  if (row.leaf && row.ops.includes("update")) valueCell.onclick = () => startEdit(valueCell, row);
  const ops = el("td", { class: "ops" });
  const opLabels = {
    optional_clear: "clear", optional_wrap: "set default", vector_append: "append", vector_insert: "insert before",
    vector_remove: "remove", set_insert: "insert", set_remove: "remove", map_add: "add key", map_remove: "remove key",
    map_rename: "rename key", set_update: "replace",
    xarray_append: "append", xarray_insert: "insert before", xarray_remove: "remove", variant_reset: "reset to…",
    any_clear: "clear", any_reset: "reset to…",
  };
  for (const op of row.ops) {
    if (!opLabels[op]) continue;
    ops.append(el("button", { "data-testid": "op-" + op, onclick: () => act(() => startOp(tr, row, op)) }, opLabels[op]));
  }
  if (row.kind === "blobid") {
    ops.append(el("button", { "data-testid": "op-upload", onclick: () => uploadInto(tr, row) }, "upload…"));
  }
  if (row.kind === "key" && row.json) {
    ops.append(el("button", { "data-testid": "op-jump", onclick: () => act(() => jumpToKey(row.json)) }, "jump"));
    ops.append(el("button", { "data-testid": "op-copy-key", onclick: () => navigator.clipboard && navigator.clipboard.writeText(row.json.join(":")) }, "copy"));
  }
  tr.append(el("td", { style: `padding-left:${6 + row.depth * 14}px`, text: row.name }), valueCell,
    el("td", { class: "col-path", text: row.path_text }), el("td", { class: "col-type", text: row.type }), ops);
  return tr;
}
function fieldError(cell, message) {
  cell.querySelectorAll(".field-error").forEach((e) => e.remove());
  if (message) cell.append(el("span", { class: "field-error", "data-testid": "field-error", text: message }));
}
async function edit(request) {
  const base = S.status.current;
  try { return await write("/api/edit", { base, ...request }); }
  catch (e) {
    if (e.kind === "StaleEditError" && e.message.includes("no longer a head")
        && await confirmDialog(e.message + "\n\nStart a new branch from this commit?")) {
      return await write("/api/edit", { base, ...request, branch: true });
    }
    throw e;
  }
}
function parseInput(row, text) {
  if (row.kind === "string") return text;
  if (row.kind === "enumeration") return text;
  try { return JSON.parse(text); } catch (e) { throw new Error(`not a valid ${row.type}: ${text}`); }
}
function startEdit(cell, row) {
  if (cell.querySelector("input,select")) return;
  let input;
  if (row.kind === "bool") {
    input = el("input", { type: "checkbox", "data-testid": "value-input" });
    input.checked = row.json;
  } else if (row.kind === "enumeration") {
    input = el("select", { "data-testid": "value-input" }, ...row.cases.map((c) => el("option", { value: c, selected: c === row.json }, c)));
  } else {
    input = el("input", { type: "text", "data-testid": "value-input" });
    input.value = row.kind === "string" ? row.json : JSON.stringify(row.json);
  }
  const submit = async () => {
    let value;
    try { value = row.kind === "bool" ? input.checked : parseInput(row, input.value); }
    catch (e) { fieldError(cell, e.message); return; }
    try { await edit({ op: "update", attachment: S.attachment, key: S.key, path: row.path, value }); }
    catch (e) { fieldError(cell, e.message); }
  };
  input.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter") { ev.preventDefault(); submit(); }
    if (ev.key === "Escape") renderDocument();
  });
  if (row.kind === "bool" || row.kind === "enumeration") input.addEventListener("change", submit);
  cell.replaceChildren(input);
  input.focus();
}
function startOp(tr, row, op) {
  const cell = tr.querySelector(".ops");
  const immediate = ["optional_clear", "optional_wrap", "vector_remove", "set_remove", "map_remove", "xarray_remove", "any_clear"];
  const request = { op, attachment: S.attachment, key: S.key, path: row.path };
  if (immediate.includes(op)) {
    return edit(request).catch((e) => fieldError(cell, e.message));
  }
  const form = el("div", { class: "inline-form", "data-testid": "op-form" });
  const inputs = {};
  if (op === "variant_reset" || op === "any_reset") {
    const choices = op === "variant_reset" ? row.alternatives : row.any_types;
    inputs.choice = el("select", { "data-testid": "op-choice" }, ...choices.map((c, i) => el("option", { value: op === "variant_reset" ? i : c }, c)));
    form.append(inputs.choice);
  } else if (op === "map_rename") {
    inputs.key = el("input", { "data-testid": "op-key", placeholder: "new key (JSON)" });
    inputs.key.value = JSON.stringify(row.path[row.path.length - 1][1]);
    form.append(inputs.key);
  } else {
    if (op === "map_add") {
      inputs.key = el("input", { "data-testid": "op-key", placeholder: "key (JSON)" });
      inputs.key.value = JSON.stringify(row.key_zero);
      form.append(inputs.key);
    }
    inputs.value = el("input", { "data-testid": "op-value", placeholder: "value (JSON)" });
    const zero = op === "set_update" ? row.json : row.element_zero !== undefined ? row.element_zero : row.zero;
    inputs.value.value = JSON.stringify(zero === undefined ? null : zero);
    form.append(inputs.value);
  }
  const ok = el("button", { "data-testid": "op-submit" }, "OK");
  ok.onclick = async () => {
    try {
      if (inputs.choice) request[op === "variant_reset" ? "alternative" : "type"] = op === "variant_reset" ? Number(inputs.choice.value) : inputs.choice.value;
      if (inputs.key) request.map_key = JSON.parse(inputs.key.value);
      if (inputs.value) request.value = JSON.parse(inputs.value.value);
    } catch (e) { fieldError(form, "not JSON: " + e.message); return; }
    try { await edit(request); } catch (e) { fieldError(form, e.message); }
  };
  form.append(ok, el("button", { onclick: () => form.remove() }, "Cancel"));
  cell.querySelectorAll(".inline-form").forEach((f) => f.remove());
  cell.append(form);
  (inputs.value || inputs.key || inputs.choice).focus();
}
function uploadInto(tr, row) {
  const file = el("input", { type: "file", "data-testid": "upload-input" });
  file.onchange = () => act(async () => {
    const data = await file.files[0].arrayBuffer();
    const response = await fetch("/api/blobs?layout=uchar-1", { method: "POST", headers: { "X-Commitdb-Editor": "1" }, body: data });
    const answer = await response.json();
    if (!response.ok) throw new Error(answer.error);
    await edit({ op: "update", attachment: S.attachment, key: S.key, path: row.path, value: answer.blob_id });
  });
  file.click();
}
async function jumpToKey(json) {
  const [instance] = json;
  const groups = await api("/api/abstractions");
  for (const g of groups) for (const a of g.attachments) {
    const keys = await api("/api/keys?attachment=" + encodeURIComponent(a.id));
    const found = keys.find((k) => k.instance === instance);
    if (found) return go({ attachment: a.id, key: found.key });
  }
  throw new Error(`no document has the key ${instance} in this state`);
}
async function go(place, fromHistory) {
  S.attachment = place.attachment; S.key = place.key;
  if (!fromHistory) { S.history = S.history.slice(0, S.historyAt + 1); S.history.push(place); S.historyAt = S.history.length - 1; }
  $("nav-back").disabled = S.historyAt <= 0;
  $("nav-fwd").disabled = S.historyAt >= S.history.length - 1;
  await reloadBrowser();
}
$("nav-back").onclick = () => act(() => S.historyAt > 0 && go(S.history[--S.historyAt], true));
$("nav-fwd").onclick = () => act(() => S.historyAt < S.history.length - 1 && go(S.history[++S.historyAt], true));
$("btn-new-instance").onclick = () => act(async () => {
  const before = new Set((await api("/api/keys?attachment=" + encodeURIComponent(S.attachment))).map((k) => k.key));
  await edit({ op: "new_instance", attachment: S.attachment });
  const keys = await api("/api/keys?attachment=" + encodeURIComponent(S.attachment));
  const made = keys.find((k) => !before.has(k.key));
  if (made) await go({ attachment: S.attachment, key: made.key });
});
$("show-path").onchange = (ev) => $("doc").classList.toggle("show-path", ev.target.checked);
$("show-type").onchange = (ev) => $("doc").classList.toggle("show-type", ev.target.checked);

// --- side panels ----------------------------------------------------------------------------------------
document.querySelectorAll("#tabs button").forEach((b) => b.onclick = () => act(() => {
  S.tab = b.dataset.tab;
  document.querySelectorAll("#tabs button").forEach((x) => x.classList.toggle("active", x === b));
  document.querySelectorAll(".tab").forEach((t) => t.classList.toggle("hidden", t.id !== "tab-" + S.tab));
  return renderTab();
}));
function renderUndo() {
  const list = $("undo-list");
  list.replaceChildren(el("li", { class: S.status.undo.length ? "" : "current-step", text: "(start)" }));
  S.status.undo.forEach((label, i) => list.append(el("li", { class: i === S.status.undo.length - 1 ? "current-step" : "", text: label, "data-testid": "undo-step" })));
  [...S.status.redo].reverse().forEach((label) => list.append(el("li", { class: "redo-step", text: label, "data-testid": "redo-step" })));
}
async function renderTab() {
  const renderers = { actions: renderActions, program: renderProgram, diff: renderDiff, blobs: renderBlobs, info: renderInfo, sync: renderSync };
  if (renderers[S.tab]) await renderers[S.tab]();
}
async function renderActions() {
  const data = await api(`/api/actions?offset=0&limit=${S.actionsShown}`);
  if (data.pending) { $("actions").replaceChildren(el("div", { class: "hint", text: "computing which commits are enabled…" })); return; }
  $("actions").replaceChildren(...data.actions.map((a) => el("div", { class: "action" + (a.enabled ? "" : " off"), "data-testid": "action", "data-commit": a.id },
    el("button", { class: "eye", title: a.enabled ? "disable" : "enable", "data-testid": "action-toggle",
      onclick: () => act(() => write("/api/toggle", { commit: a.id, enable: !a.enabled })) }, a.enabled ? "👁" : "—"),
    el("span", { class: "hint", text: String(a.order) }), el("span", { class: "label", text: `${a.label}` }),
    el("span", { class: "hint", text: `${a.type} ${short(a.id)}` }))));
  $("actions-more").classList.toggle("hidden", data.total <= S.actionsShown);
}
$("actions-more").onclick = () => act(() => { S.actionsShown += 200; return renderActions(); });
async function renderProgram() {
  const trace = $("program-trace").checked;
  if (!trace && !S.status.current) return;
  const data = await api(trace ? "/api/program?trace=1&limit=1000" : "/api/program?commit=" + S.status.current);
  if (data.pending) { $("program").replaceChildren(); $("program-value").textContent = "computing the state's linearisation…"; return; }
  $("program-value").textContent = data.opcodes.length ? "select an opcode to see its operand" : "no opcode (a merge, enable or disable commit)";
  $("program").replaceChildren(...data.opcodes.map((op, i) => {
    const tr = el("tr", { class: op.enabled ? "" : "off", "data-testid": "opcode" },
      el("td", { text: trace ? `${op.order}` : String(i + 1) }), el("td", { text: op.opcode }), el("td", { text: op.attachment }),
      el("td", { text: op.instance.slice(0, 8) }), el("td", { text: op.path }), el("td", { text: (op.position || "").slice(0, 8) }));
    tr.onclick = () => { document.querySelectorAll("#program tr").forEach((r) => r.classList.remove("sel")); tr.classList.add("sel"); $("program-value").textContent = op.value || "(no operand)"; };
    return tr;
  }));
}
$("program-trace").onchange = () => act(renderProgram);
async function renderDiff() {
  if (!S.status.current) { $("diff").textContent = "no commit"; return; }
  const data = await api("/api/diff?commit=" + S.status.current);
  const box = $("diff");
  box.replaceChildren(el("div", { class: "hint", text: `${short(data.commit)} against its parent ${short(data.parent)}` }));
  if (!data.documents.length) box.append(el("div", { text: "no document changed" }));
  for (const d of data.documents) {
    box.append(el("div", { class: "diff-doc", "data-testid": "diff-document" }, el("strong", { text: `${d.attachment} ${d.key.split(":")[0]}` }),
      el("table", { class: "grid" }, ...d.rows.map((r) => el("tr", { "data-testid": "diff-row" }, el("td", { text: r.path }),
        el("td", { class: "before", text: r.before === null ? "∅" : r.before }), el("td", { class: "after", text: r.after === null ? "∅" : r.after }))))));
  }
}
async function renderBlobs() {
  const data = await api("/api/blobs");
  $("blob-stats").textContent = `${data.count} blobs · ${data.total} bytes · min ${data.min} · max ${data.max}`;
  const key = S.blobSort;
  data.blobs.sort((a, b) => (a[key] < b[key] ? -1 : a[key] > b[key] ? 1 : 0));
  $("blobs").replaceChildren(...data.blobs.map((b) => el("tr", { "data-testid": "blob" }, el("td", { text: short(b.id), title: b.id }),
    el("td", { text: String(b.size) }), el("td", { text: b.layout }),
    el("td", {}, el("a", { href: "/api/blobs/" + b.id, download: b.id + ".bin", "data-testid": "blob-download" }, "download")))));
}
document.querySelectorAll("th[data-sort]").forEach((th) => th.onclick = () => act(() => { S.blobSort = th.dataset.sort; return renderBlobs(); }));
async function renderInfo() {
  const data = await api("/api/info");
  const dl = $("info");
  dl.replaceChildren();
  for (const k of ["path", "documentation", "uuid", "codec", "definitions_hexdigest", "types", "attachments"]) {
    dl.append(el("dt", { text: k }), el("dd", { text: String(data[k]), "data-testid": "info-" + k }));
  }
  $("info-dsm").textContent = data.dsm;
}
function syncSource() {
  const kind = $("sync-kind").value;
  return kind === "host" ? { kind, host: $("sync-host").value, port: $("sync-port").value } : { kind, path: $("sync-path").value };
}
$("sync-kind").onchange = () => {
  const kind = $("sync-kind").value;
  document.querySelectorAll(".for-file,.for-socket,.for-host").forEach((e) => e.classList.toggle("hidden", !e.classList.contains("for-" + kind)));
};
document.querySelectorAll(".sync-btn").forEach((b) => b.onclick = () => act(async () => {
  $("sync-progress").value = 0;
  await write("/api/sync", { mode: b.dataset.mode, source: syncSource() });
  $("sync-progress").value = 1;
}).finally(renderSync));
async function renderSync() {
  const live = await api("/api/live");
  $("live-toggle").textContent = live.running ? "Stop live" : "Start live";
  $("live-dot").classList.toggle("on", live.running);
  $("sync-log").replaceChildren(...live.log.map(logItem));
}
function logItem(entry) {
  return el("li", { class: entry.level === "error" ? "error" : "", "data-testid": "sync-log-entry", text: `${entry.time.slice(11, 19)} ${entry.text}` });
}
$("live-toggle").onclick = () => act(async () => {
  const live = await api("/api/live");
  if (live.running) await api("/api/live/stop", {});
  else await api("/api/live/start", { interval: Number($("live-interval").value), sync: $("live-sync").checked, manager: $("live-manager").checked, source: syncSource() });
  await renderSync();
});

// --- live updates: the server pushes, the page never polls -------------------------------------------
function listen() {
  const events = new EventSource("/api/events");
  events.onmessage = (message) => {
    const event = JSON.parse(message.data);
    if (event.kind === "changed") act(refresh);
    else if (event.kind === "flags") { S.pages.clear(); act(async () => { await renderGraph(); await renderHeaders(); await renderTab(); }); }
    else if (event.kind === "sync_progress") { $("sync-progress").max = Math.max(1, event.total); $("sync-progress").value = event.done; }
    else if (event.kind === "sync_log") { $("sync-log").append(logItem(event)); }
    else if (event.kind === "live_stopped") { showError("live mode stopped: " + event.error); act(renderSync); }
    else if (event.kind === "error") showError(event.error);
    else if (event.kind === "hello") { document.body.dataset.live = "1"; act(refresh); }
  };
  events.onerror = () => { document.body.dataset.live = "0"; };
}
act(async () => { await refresh(); listen(); });
