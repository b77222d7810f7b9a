// Sangam journey builder: an X6 canvas over the journey's draft graph (docs/journey-format.md).
// The server owns the truth: node summaries, ports derived from config, and problems come back
// from every autosave; this file draws, edits, saves (debounced, with the draft revision so a
// second editor gets a conflict, never a silent overwrite) and animates test runs.
(function () {
  "use strict";

  const W = 210;
  const SAVE_DELAY = 800;
  const GROUP_COLORS = {
    triggers: "#7c3aed", messages: "#0f5f5c", waits: "#d97706", logic: "#2563eb",
    voice: "#be185d", actions: "#475569", ends: "#15803d",
  };
  const ICONS = {
    bolt: "⚡", users: "◎", calendar: "▦", "phone-incoming": "☎", message: "✉", stairs: "⇶",
    hourglass: "◔", clock: "◷", "git-branch": "⋔", shuffle: "⤮", phone: "☎", edit: "✎",
    globe: "◍", flag: "⚑", "log-out": "⏏",
  };
  const CHANNEL_BADGE = { whatsapp: "WA", sms: "SMS", voice: "☎", best: "★" };

  const dataEl = document.getElementById("builder-data");
  if (!dataEl || !window.X6) return;
  const DATA = JSON.parse(dataEl.textContent);
  const READONLY = !!DATA.readonly || !DATA.can_edit;
  const KINDS = {};
  (DATA.palette || []).forEach((g) => g.kinds.forEach((k) => { KINDS[k.kind] = Object.assign({ group: g.group }, k); }));

  const state = {
    revision: DATA.revision, meta: {}, infos: DATA.nodes || {}, problems: DATA.problems || [],
    dirty: false, saving: null, timer: null, quiet: 0, conflict: false, clipboard: null, counter: 0,
  };

  // --- graph ---------------------------------------------------------------------------------

  X6.Graph.registerNode("journey-node", {
    inherit: "rect",
    width: W, height: 64,
    markup: [
      { tagName: "rect", selector: "body" },
      { tagName: "rect", selector: "stripe" },
      { tagName: "text", selector: "icon" },
      { tagName: "text", selector: "title" },
      { tagName: "text", selector: "channel" },
      { tagName: "text", selector: "summary" },
      { tagName: "circle", selector: "badge" },
      { tagName: "text", selector: "badgeText" },
      { tagName: "rect", selector: "liveBg", className: "live-pill" },
      { tagName: "text", selector: "liveText", className: "live-pill" },
    ],
    attrs: {
      body: { refWidth: "100%", refHeight: "100%", rx: 8, ry: 8, fill: "#fff", stroke: "#b8c4ce", strokeWidth: 1.5 },
      stripe: { width: 6, refHeight: "100%", rx: 3, fill: "#0f5f5c" },
      icon: { refX: 20, refY: 21, fontSize: 14, fontWeight: 700, fill: "#17202a", textAnchor: "middle", textVerticalAnchor: "middle" },
      title: { refX: 34, refY: 21, fontSize: 13, fontWeight: 600, fill: "#17202a", textAnchor: "start", textVerticalAnchor: "middle", textWrap: { width: W - 100, height: 18, ellipsis: true } },
      channel: { display: "none" },
      summary: { refX: 14, refY: 34, fontSize: 11, fill: "#5d6b78", textAnchor: "start", textVerticalAnchor: "top", textWrap: { width: W - 86, height: 30, ellipsis: true } },
      badge: { cx: W - 4, cy: 4, r: 10, fill: "#b91c1c", stroke: "#fff", strokeWidth: 1.5, display: "none" },
      badgeText: { refX: W - 4, refY: 4, fontSize: 11, fontWeight: 700, fill: "#fff", textAnchor: "middle", textVerticalAnchor: "middle", display: "none" },
      liveBg: { x: 8, y: -20, width: W - 40, height: 17, rx: 8, ry: 8, fill: "#0f5f5c", stroke: "#fff", strokeWidth: 1, display: "none", cursor: "pointer" },
      liveText: { refX: 16, refY: -11.5, fontSize: 10.5, fontWeight: 600, fill: "#fff", textAnchor: "start", textVerticalAnchor: "middle", display: "none", cursor: "pointer" },
    },
    ports: {
      groups: {
        in: {
          position: "left",
          attrs: { circle: { r: 6, magnet: "passive", stroke: "#5d6b78", fill: "#fff", strokeWidth: 1.5 } },
        },
        out: {
          position: "right",
          label: { position: { name: "left", args: { x: -10 } } },
          attrs: {
            circle: { r: 6, magnet: true, stroke: "#0f5f5c", fill: "#fff", strokeWidth: 1.5, cursor: "crosshair" },
            text: { fontSize: 10, fill: "#5d6b78" },
          },
        },
      },
    },
  }, true);

  const container = document.getElementById("canvas");
  const graph = new X6.Graph({
    container,
    autoResize: true,
    grid: { size: 10, visible: true },
    background: { color: "#f8fafb" },
    panning: { enabled: true, eventTypes: ["leftMouseDown"] },
    mousewheel: { enabled: true, modifiers: ["ctrl", "meta"], minScale: 0.2, maxScale: 2 },
    interacting: READONLY ? { nodeMovable: false, edgeMovable: false, magnetConnectable: false } : true,
    highlighting: {
      magnetAvailable: { name: "stroke", args: { padding: 3, attrs: { stroke: "#15803d", "stroke-width": 2 } } },
      magnetAdsorbed: { name: "stroke", args: { padding: 3, attrs: { stroke: "#2563eb", "stroke-width": 3 } } },
    },
    connecting: {
      snap: { radius: 24 },
      allowBlank: false, allowLoop: false, allowNode: false, allowEdge: false, allowMulti: true,
      highlight: true,
      connector: { name: "smooth" },
      createEdge() { return this.createEdge(edgeSpec()); },
      validateMagnet({ cell, magnet }) {
        if (READONLY || magnet.getAttribute("port-group") !== "out") return false;
        return !portTaken(cell, magnet.getAttribute("port"), null);
      },
      validateConnection({ sourceCell, targetCell, sourcePort, targetPort, targetMagnet, edge }) {
        if (!targetMagnet || !targetCell || sourceCell === targetCell) return false;
        if (targetPort !== "in") return false;
        return !portTaken(sourceCell, sourcePort, edge);
      },
    },
  });

  // One edge per port: a run follows one path (Port docs in journeys/engine/registry.py).
  function portTaken(cell, port, except) {
    return graph.getConnectedEdges(cell, { outgoing: true })
      .some((e) => e !== except && e.getSourcePortId() === port && e.getTargetCellId());
  }

  // Plugin instances are called directly: the UMD build does not add their Graph methods.
  const selection = new X6.Selection({
    enabled: true, multiple: true, rubberband: true, modifiers: "shift", movable: !READONLY,
    showNodeSelectionBox: true, pointerEvents: "none",
  });
  const history = new X6.History({
    enabled: !READONLY,
    beforeAddCommand: () => state.quiet === 0,
  });
  graph.use(selection);
  graph.use(new X6.Snapline({ enabled: true }));
  graph.use(history);
  const selected = () => selection.cells.slice();
  const select = (cells) => selection.reset(cells);
  const minimapEl = document.getElementById("minimap");
  if (minimapEl) graph.use(new X6.MiniMap({ container: minimapEl, width: 180, height: 120, padding: 8 }));

  function edgeSpec(extra) {
    return Object.assign({
      shape: "edge",
      connector: { name: "smooth" },
      attrs: { line: { stroke: "#8a99a6", strokeWidth: 1.6, targetMarker: { name: "block", width: 8, height: 6 } } },
      zIndex: 0,
    }, extra || {});
  }

  function quietly(fn) {
    state.quiet += 1;
    try { return fn(); } finally { state.quiet -= 1; }
  }

  // --- nodes ---------------------------------------------------------------------------------

  function nodeHeight(outCount) { return Math.max(64, 24 + outCount * 18); }

  function portItems(kind, ports) {
    const items = kind.startsWith("trigger.") ? [] : [{ id: "in", group: "in" }];
    ports.forEach((p) => items.push({ id: p.name, group: "out", attrs: { text: { text: p.name }, circle: { title: p.label } } }));
    return items;
  }

  function nodeSpec(spec) {
    const kind = KINDS[spec.kind] || { group: "actions", icon: "", label: spec.kind, ports: [] };
    const info = state.infos[spec.id];
    const ports = info ? info.ports : kind.ports || [];
    const pos = spec.position || { x: 80, y: 80 };
    return {
      id: spec.id, shape: "journey-node", x: pos.x, y: pos.y, width: W, height: nodeHeight(ports.length),
      data: { kind: spec.kind, config: spec.config || {}, label: spec.label || "" },
      ports: { items: portItems(spec.kind, ports) },
      attrs: {
        stripe: { fill: GROUP_COLORS[kind.group] || "#475569" },
        icon: iconAttrs(spec, kind),
        title: { text: spec.label || kind.label || spec.kind },
        summary: { text: info ? info.summary : kind.label },
      },
    };
  }

  // Sends show their channel (WA, SMS, VOICE) where other kinds show their icon.
  function iconAttrs(spec, kind) {
    const channel = channelOf(spec);
    if (channel) return { text: channel, fontSize: channel.length > 2 ? 8 : channel.length > 1 ? 10 : 14, fill: "#0f5f5c" };
    return { text: ICONS[kind.icon] || "•", fontSize: 14, fill: "#17202a" };
  }

  function channelOf(spec) {
    const config = spec.config || {};
    if (spec.kind === "send") return CHANNEL_BADGE[config.channel] || "";
    if (spec.kind === "voice_call") return "☎";
    return "";
  }

  function newId(kind) {
    const base = kind.replace(/^trigger\./, "trigger_").replace(/[^A-Za-z0-9_]/g, "_");
    let n = ++state.counter;
    while (graph.getCellById(base + "_" + n)) n = ++state.counter;
    return base + "_" + n;
  }

  function addNode(kindName, position, config, label) {
    const kind = KINDS[kindName];
    const spec = {
      id: newId(kindName), kind: kindName, config: JSON.parse(JSON.stringify(config || kind.example_config || {})),
      label: label || "", position,
    };
    return graph.addNode(nodeSpec(spec));
  }

  // Server facts (summary, ports from config, problem counts) onto the canvas, outside history.
  function applyInfos(infos) {
    state.infos = infos;
    let removedEdges = false;
    quietly(() => graph.getNodes().forEach((node) => {
      const info = infos[node.id];
      if (!info) return;
      const data = node.getData() || {};
      node.attr("summary/text", info.summary);
      node.attr("title/text", data.label || (KINDS[data.kind] || {}).label || data.kind);
      node.attr("icon", iconAttrs(data, KINDS[data.kind] || {}));
      const count = info.errors || info.warnings;
      node.attr("badge/display", count ? null : "none");
      node.attr("badgeText/display", count ? null : "none");
      node.attr("badge/fill", info.errors ? "#b91c1c" : "#d97706");
      node.attr("badgeText/text", String(count || ""));
      const view = graph.findViewByCell(node);
      if (view) {
        view.container.classList.toggle("has-errors", !!info.errors);
        view.container.setAttribute("data-errors", String(info.errors || 0));
      }
      removedEdges = syncPorts(node, info.ports) || removedEdges;
    }));
    if (removedEdges) markDirty();
    if (state.live) applyLive(state.live);
    else if (state.forecast) applyForecast(state.forecast);
  }

  function syncPorts(node, ports) {
    const wanted = ports.map((p) => p.name);
    const have = node.getPortsByGroup("out").map((p) => p.id);
    let removed = false;
    have.filter((id) => !wanted.includes(id)).forEach((id) => {
      graph.getConnectedEdges(node, { outgoing: true }).filter((e) => e.getSourcePortId() === id)
        .forEach((e) => { e.remove(); removed = true; });
      node.removePort(id);
    });
    ports.filter((p) => !have.includes(p.name)).forEach((p) => {
      node.addPort({ id: p.name, group: "out", attrs: { text: { text: p.name }, circle: { title: p.label } } });
    });
    const size = node.getSize();
    const height = nodeHeight(ports.length);
    if (size.height !== height) node.resize(W, height);
    return removed;
  }

  // --- load and serialise --------------------------------------------------------------------

  function load(draft) {
    const graphData = draft || { format: 1, nodes: [], edges: [] };
    state.meta = Object.assign({}, graphData);
    delete state.meta.nodes;
    delete state.meta.edges;
    quietly(() => {
      graph.clearCells();
      const cells = (graphData.nodes || []).map((n) => graph.createNode(nodeSpec(n)));
      (graphData.edges || []).forEach((e) => {
        cells.push(graph.createEdge(edgeSpec({ source: { cell: e.from, port: e.port }, target: { cell: e.to, port: "in" } })));
      });
      graph.resetCells(cells);
    });
    applyInfos(state.infos);
    history.clean();
  }

  function serialise() {
    const nodes = graph.getNodes().map((node) => {
      const data = node.getData() || {};
      const pos = node.getPosition();
      return { id: node.id, kind: data.kind, config: data.config || {}, position: { x: Math.round(pos.x), y: Math.round(pos.y) }, label: data.label || "" };
    });
    const edges = graph.getEdges().filter((e) => e.getSourceCellId() && e.getTargetCellId())
      .map((e) => ({ from: e.getSourceCellId(), port: e.getSourcePortId(), to: e.getTargetCellId() }));
    const out = Object.assign({}, state.meta, { format: 1, nodes, edges });
    const triggers = nodes.filter((n) => (n.kind || "").startsWith("trigger."));
    out.trigger = triggers.length === 1 ? { node: triggers[0].id } : (triggers.length ? out.trigger : null);
    if (out.trigger && !nodes.some((n) => n.id === out.trigger.node)) out.trigger = null;
    return out;
  }

  // --- autosave ------------------------------------------------------------------------------

  const saveState = document.getElementById("save-state");
  function showSave(kind, text) {
    if (!saveState) return;
    saveState.dataset.state = kind;
    saveState.textContent = text;
  }

  function markDirty() {
    if (READONLY || state.conflict) return;
    state.dirty = true;
    showSave("dirty", "Unsaved changes…");
    clearTimeout(state.timer);
    state.timer = setTimeout(save, SAVE_DELAY);
  }

  function csrf() {
    const m = document.cookie.match(/csrftoken=([^;]+)/);
    return m ? decodeURIComponent(m[1]) : "";
  }

  async function save() {
    clearTimeout(state.timer);
    if (state.saving) return state.saving;
    if (!state.dirty || state.conflict) return;
    state.dirty = false;
    showSave("saving", "Saving…");
    const body = JSON.stringify({ graph: serialise(), revision: state.revision });
    state.saving = (async () => {
      try {
        const response = await fetch(DATA.urls.save, {
          method: "POST", body, credentials: "same-origin",
          headers: { "Content-Type": "application/json", "X-CSRFToken": csrf() },
        });
        const answer = await response.json().catch(() => ({}));
        if (response.ok) return saved(answer);
        if (response.status === 409) return conflict(answer.detail);
        state.dirty = true;
        showSave("error", "Not saved: " + (answer.detail || response.statusText));
      } catch (err) {
        state.dirty = true;
        showSave("error", "Offline: retrying…");
        state.timer = setTimeout(save, 3000);
      } finally {
        state.saving = null;
      }
    })();
    await state.saving;
    if (state.dirty && !state.conflict && saveState.dataset.state !== "error") return save();
  }

  function saved(answer) {
    setRevision(answer.revision);
    applyInfos(answer.nodes || {});
    renderProblems(answer.problems || []);
    if (!state.dirty) showSave("saved", "All changes saved");
  }

  function setRevision(revision) {
    state.revision = revision;
    document.querySelectorAll(".js-revision").forEach((input) => { input.value = revision; });
  }

  function conflict(detail) {
    state.conflict = true;
    showSave("conflict", "Conflict");
    const box = document.createElement("div");
    box.className = "conflict-banner";
    box.setAttribute("role", "alert");
    box.innerHTML = "<strong>Not saved:</strong> <span></span> <button type='button' class='primary'>Reload the latest draft</button>";
    box.querySelector("span").textContent = detail || "someone else saved this draft after you opened it.";
    box.querySelector("button").addEventListener("click", () => { state.dirty = false; location.reload(); });
    document.querySelector(".builder-head").after(box);
  }

  async function flush() {
    clearTimeout(state.timer);
    if (state.saving) await state.saving;
    if (state.dirty) await save();
    if (state.saving) await state.saving;
    return !state.conflict && !state.dirty;
  }

  if (!READONLY) {
    ["cell:added", "cell:removed", "cell:changed"].forEach((name) => graph.on(name, ({ cell, options }) => {
      if (state.quiet || (options && options.ui === false)) return;
      if (name === "cell:added" && cell.isEdge() && !cell.getTargetCellId()) return; // still being drawn
      markDirty();
    }));
    graph.on("edge:connected", () => markDirty());
    window.addEventListener("beforeunload", (e) => {
      if (state.dirty || state.saving) { e.preventDefault(); e.returnValue = ""; }
    });
  }

  // --- problems panel ------------------------------------------------------------------------

  function renderProblems(problems) {
    state.problems = problems;
    const list = document.getElementById("problem-list");
    const count = document.getElementById("problem-count");
    if (count) count.textContent = String(problems.length);
    if (!list) return;
    list.innerHTML = "";
    if (!problems.length) {
      list.innerHTML = "<li class='ok'>No problems.</li>";
      return;
    }
    problems.forEach((p) => {
      const li = document.createElement("li");
      li.className = "sev-" + p.severity;
      li.dataset.code = p.code;
      const text = document.createElement("span");
      text.textContent = p.message;
      li.appendChild(text);
      if (p.node_id && graph.getCellById(p.node_id)) {
        const link = document.createElement("button");
        link.type = "button";
        link.className = "link";
        link.textContent = "Show node";
        link.dataset.node = p.node_id;
        link.addEventListener("click", () => focusNode(p.node_id, true));
        li.appendChild(document.createTextNode(" "));
        li.appendChild(link);
      }
      list.appendChild(li);
    });
  }

  // --- selection, inspector and keyboard -----------------------------------------------------

  function focusNode(id, openInspector) {
    const node = graph.getCellById(id);
    if (!node) return;
    select(node);
    graph.centerCell(node);
    if (openInspector) inspect(id, true);
  }

  async function inspect(id, focusForm) {
    if (!DATA.urls || !DATA.urls.node) return;
    showTab("inspector");
    await flush();
    const url = DATA.urls.node.replace("__node__", encodeURIComponent(id));
    await htmx.ajax("GET", url, { target: "#inspector", swap: "outerHTML" });
    if (focusForm) {
      const first = document.querySelector("#inspector-form input:not([type=hidden]), #inspector-form select");
      if (first) first.focus();
    }
  }

  graph.on("node:click", ({ node, e }) => {
    container.focus({ preventScroll: true });
    const onPill = e && e.target && e.target.closest && e.target.closest(".live-pill");
    if (DATA.live && (onPill || tabOpen("live"))) { showWaiting(node.id); return; }
    inspect(node.id, false);
  });
  graph.on("blank:click", () => container.focus({ preventScroll: true }));

  function orderedNodes() {
    return graph.getNodes().slice().sort((a, b) => {
      const pa = a.getPosition(), pb = b.getPosition();
      return pa.x - pb.x || pa.y - pb.y;
    });
  }

  function moveSelection(step) {
    const nodes = orderedNodes();
    if (!nodes.length) return false;
    const current = selected().find((c) => c.isNode());
    let index = current ? nodes.indexOf(current) + step : (step > 0 ? 0 : nodes.length - 1);
    if (index < 0 || index >= nodes.length) return false;
    select(nodes[index]);
    const view = graph.findViewByCell(nodes[index]);
    const box = container.getBoundingClientRect();
    const r = view && view.container.getBoundingClientRect();
    if (r && (r.left < box.left || r.right > box.right || r.top < box.top || r.bottom > box.bottom)) graph.centerCell(nodes[index]);
    announce(nodes[index]);
    return true;
  }

  function announce(node) {
    const data = node.getData() || {};
    container.setAttribute("aria-label", "Selected: " + (data.label || node.id) + " (" + ((KINDS[data.kind] || {}).label || data.kind) + "). Enter opens the inspector.");
  }

  function typing(target) { return target.closest("input, textarea, select, [contenteditable=true]"); }

  document.addEventListener("keydown", (e) => {
    if (typing(e.target)) return;
    const inCanvas = e.target === container || container.contains(e.target) || e.target === document.body;
    if (!inCanvas) return;
    const mod = e.ctrlKey || e.metaKey;
    const key = e.key.toLowerCase();
    if (mod && key === "z" && !READONLY) { e.preventDefault(); e.shiftKey ? history.redo() : history.undo(); return; }
    if (mod && key === "y" && !READONLY) { e.preventDefault(); history.redo(); return; }
    if (mod && key === "c") { e.preventDefault(); copy(); return; }
    if (mod && key === "v" && !READONLY) { e.preventDefault(); paste(); return; }
    if (mod && key === "a") { e.preventDefault(); select(graph.getNodes()); return; }
    if ((e.key === "Delete" || e.key === "Backspace") && !READONLY) { e.preventDefault(); removeSelected(); return; }
    if (e.key === "ArrowRight" || e.key === "ArrowDown") { e.preventDefault(); moveSelection(1); return; }
    if (e.key === "ArrowLeft" || e.key === "ArrowUp") { e.preventDefault(); moveSelection(-1); return; }
    if (e.key === "Tab" && e.target === container) { if (moveSelection(e.shiftKey ? -1 : 1)) e.preventDefault(); return; }
    if (e.key === "Enter") {
      const node = selected().find((c) => c.isNode());
      if (node) { e.preventDefault(); inspect(node.id, true); }
    }
  });

  // --- clipboard, delete, layout -------------------------------------------------------------

  // Our own copy/paste (not X6's Clipboard) so pasted nodes get ids in the journey format.
  function copy() {
    const nodes = selected().filter((c) => c.isNode());
    if (!nodes.length) return;
    const ids = new Set(nodes.map((n) => n.id));
    state.clipboard = {
      nodes: nodes.map((n) => ({ id: n.id, data: JSON.parse(JSON.stringify(n.getData())), position: n.getPosition() })),
      edges: graph.getEdges().filter((e) => ids.has(e.getSourceCellId()) && ids.has(e.getTargetCellId()))
        .map((e) => ({ from: e.getSourceCellId(), port: e.getSourcePortId(), to: e.getTargetCellId() })),
    };
  }

  function paste() {
    const clip = state.clipboard;
    if (!clip) return;
    const map = {};
    graph.startBatch("paste");
    const added = clip.nodes.map((n) => {
      const node = addNode(n.data.kind, { x: n.position.x + 40, y: n.position.y + 40 }, n.data.config, n.data.label);
      map[n.id] = node.id;
      return node;
    });
    clip.edges.forEach((e) => graph.addEdge(edgeSpec({ source: { cell: map[e.from], port: e.port }, target: { cell: map[e.to], port: "in" } })));
    graph.stopBatch("paste");
    clip.nodes.forEach((n) => { n.position = { x: n.position.x + 40, y: n.position.y + 40 }; });
    select(added);
  }

  function removeSelected() {
    const cells = selected();
    if (!cells.length) return;
    graph.startBatch("delete");
    graph.removeCells(cells);
    graph.stopBatch("delete");
  }

  // Layered layout: a node's column is its longest distance from a trigger; rows in order.
  function autoLayout() {
    const nodes = graph.getNodes();
    const out = {};
    const indegree = {};
    nodes.forEach((n) => { out[n.id] = []; indegree[n.id] = 0; });
    graph.getEdges().forEach((e) => {
      const s = e.getSourceCellId(), t = e.getTargetCellId();
      if (out[s] && t in indegree && s !== t) { out[s].push(t); indegree[t] += 1; }
    });
    const rank = {};
    const queue = nodes.filter((n) => indegree[n.id] === 0).map((n) => n.id);
    queue.forEach((id) => { rank[id] = 0; });
    const remaining = Object.assign({}, indegree);
    while (queue.length) {
      const id = queue.shift();
      out[id].forEach((t) => {
        rank[t] = Math.max(rank[t] || 0, rank[id] + 1);
        remaining[t] -= 1;
        if (remaining[t] === 0) queue.push(t);
      });
    }
    nodes.forEach((n) => { if (!(n.id in rank)) rank[n.id] = 0; }); // cycles: leave in column 0
    const columns = {};
    nodes.slice().sort((a, b) => a.getPosition().y - b.getPosition().y).forEach((n) => {
      (columns[rank[n.id]] = columns[rank[n.id]] || []).push(n);
    });
    graph.startBatch("layout");
    Object.keys(columns).forEach((col) => {
      let y = 60;
      columns[col].forEach((n) => {
        n.position(60 + Number(col) * (W + 90), y);
        y += n.getSize().height + 50;
      });
    });
    graph.stopBatch("layout");
    graph.zoomToFit({ padding: 40, maxScale: 1 });
  }

  // --- palette (drag to place, Enter/click to add at the centre) -----------------------------

  if (!READONLY && X6.Dnd) {
    const dnd = new X6.Dnd({
      target: graph, scaled: false,
      getDropNode: (dragging) => {
        const data = dragging.getData();
        const spec = { id: newId(data.kind), kind: data.kind, config: JSON.parse(JSON.stringify(data.config)), label: "" };
        return graph.createNode(nodeSpec(spec));
      },
    });
    document.querySelectorAll(".palette-item").forEach((item) => {
      const kind = KINDS[item.dataset.kind];
      if (!kind) return;
      item.addEventListener("mousedown", (e) => {
        if (e.button !== 0) return;
        const preview = graph.createNode(nodeSpec({ id: "preview_" + kind.kind.replace(".", "_"), kind: kind.kind, config: kind.example_config }));
        dnd.start(preview, e);
      });
      item.addEventListener("keydown", (e) => {
        if (e.key !== "Enter" && e.key !== " ") return;
        e.preventDefault();
        const centre = graph.clientToLocal(container.getBoundingClientRect().left + container.clientWidth / 2, container.getBoundingClientRect().top + container.clientHeight / 2);
        const node = addNode(kind.kind, { x: centre.x - W / 2, y: centre.y - 32 });
        select(node);
        container.focus();
      });
    });
  }

  // --- toolbar and tabs ----------------------------------------------------------------------

  const actions = {
    undo: () => history.undo(), redo: () => history.redo(), copy, paste, delete: removeSelected,
    layout: autoLayout, "zoom-in": () => graph.zoom(0.1), "zoom-out": () => graph.zoom(-0.1),
    fit: () => graph.zoomToFit({ padding: 40, maxScale: 1 }),
  };
  document.querySelectorAll("[data-action]").forEach((button) => {
    button.addEventListener("click", () => { const a = actions[button.dataset.action]; if (a) a(); });
  });

  function tabOpen(name) {
    const tab = document.querySelector('.side .tabs [role=tab][data-tab="' + name + '"]');
    return !!tab && tab.getAttribute("aria-selected") === "true";
  }

  function showTab(name) {
    document.querySelectorAll(".side .tabs [role=tab]").forEach((tab) => tab.setAttribute("aria-selected", String(tab.dataset.tab === name)));
    document.querySelectorAll(".side .tab-pane").forEach((pane) => { pane.hidden = pane.dataset.pane !== name; });
  }
  document.querySelectorAll(".side .tabs [role=tab]").forEach((tab) => tab.addEventListener("click", () => showTab(tab.dataset.tab)));

  // Forms that act on the saved draft (publish, request, inspector, test run) save first.
  document.querySelectorAll("form[data-flush]").forEach((form) => {
    form.addEventListener("submit", async (e) => {
      if (form.dataset.flushed) return;
      e.preventDefault();
      if (!(await flush())) return;
      form.dataset.flushed = "1";
      form.submit();
    });
  });
  document.addEventListener("htmx:confirm", (e) => {
    const form = e.target;
    if (!form.matches || !(form.matches("#inspector-form") || form.matches("[data-flush-htmx]"))) return;
    e.preventDefault();
    flush().then((ok) => {
      if (!ok) return;
      form.querySelectorAll(".js-revision").forEach((input) => { input.value = state.revision; });
      e.detail.issueRequest(true);
    });
  });

  // The inspector saved the node on the server: bring the canvas in line without a new save.
  document.body.addEventListener("builder:node-saved", (e) => {
    const detail = e.detail;
    const node = graph.getCellById(detail.node);
    if (node) {
      quietly(() => node.setData({ kind: node.getData().kind, config: detail.config, label: detail.label }, { overwrite: true }));
    }
    setRevision(detail.revision);
    applyInfos(detail.nodes || {});
    renderProblems(detail.problems || []);
    showSave("saved", "All changes saved");
  });
  document.body.addEventListener("htmx:responseError", (e) => {
    if (e.detail.xhr.status === 409) conflict(e.detail.xhr.responseText);
  });

  // The settings form saved the journey-level settings into the draft: keep them in the
  // canvas's copy of the top level, or the next autosave would put the old ones back.
  document.body.addEventListener("builder:settings-saved", (e) => {
    const detail = e.detail;
    Object.assign(state.meta, detail.settings || {});
    setRevision(detail.revision);
    applyInfos(detail.nodes || {});
    renderProblems(detail.problems || []);
    showSave("saved", "All changes saved");
  });

  // --- live overlay: counts on the nodes of a published journey ------------------------------

  function pill(node, text, kind) {
    node.attr("liveText/text", text);
    node.attr("liveText/display", text ? null : "none");
    node.attr("liveBg/display", text ? null : "none");
    node.attr("liveBg/fill", kind === "forecast" ? "#7c3aed" : "#0f5f5c");
    node.attr("liveBg/width", Math.max(60, text.length * 6 + 16));
  }

  function portLabels(node, ports) {
    node.getPortsByGroup("out").forEach((p) => {
      const n = ports ? ports[p.id] : undefined;
      node.portProp(p.id, "attrs/text/text", n === undefined ? p.id : p.id + " " + n);
    });
  }

  function applyLive(counts) {
    state.live = counts;
    quietly(() => graph.getNodes().forEach((node) => {
      const c = (counts.nodes || {})[node.id] || { entered: 0, here: 0, ports: {} };
      pill(node, c.entered + " in · " + c.here + " now", "live");
      portLabels(node, c.ports || {});
      const view = graph.findViewByCell(node);
      if (view) {
        view.container.setAttribute("data-live-entered", String(c.entered));
        view.container.setAttribute("data-live-here", String(c.here));
      }
    }));
    container.dataset.liveUpdated = String((Number(container.dataset.liveUpdated) || 0) + 1);
  }

  let liveFetch = null;
  let liveAgain = false;
  async function refreshLive() {
    if (!DATA.live || !DATA.urls.live) return;
    if (liveFetch) { liveAgain = true; return; }
    liveFetch = fetch(DATA.urls.live, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then((r) => (r.ok ? r.json() : null))
      .then((counts) => { if (counts) applyLive(counts); })
      .catch(() => {})
      .finally(() => {
        liveFetch = null;
        if (liveAgain) { liveAgain = false; refreshLive(); }
      });
  }
  document.addEventListener("live:notice", (e) => {
    if (DATA.live_topic && e.detail && e.detail.topic === DATA.live_topic) refreshLive();
  });
  // After a reconnect the summary refreshes itself (htmx "live"): bring the nodes along.
  document.body.addEventListener("htmx:afterSwap", (e) => {
    if (e.target && e.target.id === "live-summary") refreshLive();
  });

  function showWaiting(id) {
    if (!DATA.urls.waiting) return;
    showTab("live");
    const url = DATA.urls.waiting.replace("__node__", encodeURIComponent(id));
    htmx.ajax("GET", url, { target: "#live-node", swap: "outerHTML" });
  }

  // --- forecast: how many customers would reach each node ------------------------------------

  function applyForecast(reach) {
    state.forecast = reach;
    if (state.live) return; // a live journey's canvas shows the live counts
    quietly(() => graph.getNodes().forEach((node) => {
      const n = reach[node.id] || 0;
      pill(node, n + " would reach", "forecast");
    }));
  }

  document.body.addEventListener("htmx:afterSwap", (e) => {
    if (!e.target || e.target.id !== "forecast") return;
    const script = document.getElementById("forecast-reach");
    if (script) applyForecast(JSON.parse(script.textContent));
    e.target.querySelectorAll("[data-focus-node]").forEach((b) => b.addEventListener("click", () => focusNode(b.dataset.focusNode, false)));
  });

  // --- test run animation and read-only diff ------------------------------------------------

  function clearMarks() {
    graph.getCells().forEach((cell) => {
      const view = graph.findViewByCell(cell);
      if (view) view.container.classList.remove("lit", "lit-now");
    });
  }

  function animateRun(path) {
    clearMarks();
    const steps = path.steps || [];
    const items = document.querySelectorAll(".run-steps li");
    const bubbles = document.querySelectorAll("#test-run .phone .bubble");
    bubbles.forEach((b) => { b.hidden = true; });
    items.forEach((li) => li.classList.remove("lit"));
    steps.forEach((step, index) => setTimeout(() => {
      graph.getNodes().forEach((n) => { const v = graph.findViewByCell(n); if (v) v.container.classList.remove("lit-now"); });
      const node = graph.getCellById(step.node);
      const view = node && graph.findViewByCell(node);
      if (view) view.container.classList.add("lit", "lit-now");
      const previous = steps[index - 1];
      if (previous && previous.port) {
        graph.getEdges().filter((e) => e.getSourceCellId() === previous.node && e.getSourcePortId() === previous.port && e.getTargetCellId() === step.node)
          .forEach((e) => { const ev = graph.findViewByCell(e); if (ev) ev.container.classList.add("lit"); });
      }
      if (items[index]) items[index].classList.add("lit");
      bubbles.forEach((b) => { if (b.dataset.node === step.node) b.hidden = false; });
      if (index === steps.length - 1) container.dataset.testRun = "done";
    }, 450 * index));
    container.dataset.testRun = "playing";
  }

  document.body.addEventListener("htmx:afterSwap", (e) => {
    const script = document.getElementById("test-run-path");
    if (e.target && e.target.id === "test-run" && script) animateRun(JSON.parse(script.textContent));
  });

  function markDiff(diff) {
    const classes = { added: "diff-added", removed: "diff-removed", changed: "diff-changed" };
    Object.keys(classes).forEach((key) => (diff[key] || []).forEach((id) => {
      const cell = graph.getCellById(id);
      const view = cell && graph.findViewByCell(cell);
      if (view) view.container.classList.add(classes[key]);
    }));
  }

  // --- start ---------------------------------------------------------------------------------

  load(DATA.graph);
  renderProblems(state.problems);
  if (graph.getNodes().length) graph.zoomToFit({ padding: 40, maxScale: 1, minScale: 0.6 });
  if (DATA.diff) markDiff(DATA.diff);
  if (DATA.live) applyLive(DATA.live);
  const firstRun = document.getElementById("test-run-path");
  if (firstRun) animateRun(JSON.parse(firstRun.textContent));
  document.querySelectorAll(".palette-item .icon, .icon[data-icon]").forEach((el) => { el.textContent = ICONS[el.dataset.icon] || "•"; });

  // For the browser tests and for people who script their console.
  window.sangamBuilder = {
    graph, state, flush, save, serialise, autoLayout, focusNode, inspect, refreshLive, showWaiting,
    portPoint(nodeId, portId) {
      const view = graph.findViewByCell(nodeId);
      const el = view && view.container.querySelector('[port="' + portId + '"]');
      if (!el) return null;
      const r = el.getBoundingClientRect();
      return { x: r.left + r.width / 2, y: r.top + r.height / 2 };
    },
    nodeBox(nodeId) {
      const view = graph.findViewByCell(nodeId);
      const r = view && view.container.getBoundingClientRect();
      return r ? { x: r.left, y: r.top, width: r.width, height: r.height } : null;
    },
  };
})();
