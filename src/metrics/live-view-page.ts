/**
 * The live view served at `/`: one self-contained HTML page (inline CSS, JS and SVG; no CDN,
 * no build step, nothing to install) that polls `/api/live` every second and redraws four
 * pictures: cluster sizes over time, the drift statistics (one strip each, on its own scale)
 * with drift incidents as shaded spans, a PCA of
 * recent embeddings and the centroids, the header figures (backend, throughput), and a table of
 * what each cluster holds in input units (its profile: share, the features that set it apart,
 * recent example keys).
 *
 * Each chart carries `data-series` / `data-points` attributes with what it drew, so a browser
 * test can check that the charts are not empty without parsing SVG geometry. The script avoids
 * template literals so that this file can hold it in one.
 */
export const LIVE_VIEW_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>streamclust live view</title>
<style>
  :root { color-scheme: light; --fg: #1d2433; --muted: #6b7385; --line: #e3e6ee; }
  * { box-sizing: border-box; }
  body { margin: 0; font: 13px/1.4 system-ui, sans-serif; color: var(--fg); background: #f6f7fb; }
  header { display: flex; flex-wrap: wrap; gap: 18px; align-items: baseline; padding: 10px 16px;
    background: #fff; border-bottom: 1px solid var(--line); }
  header h1 { font-size: 16px; margin: 0 12px 0 0; }
  .figure b { font-size: 15px; }
  .figure span { color: var(--muted); margin-left: 4px; }
  main { display: grid; grid-template-columns: 1fr 1fr; gap: 12px; padding: 12px 16px; }
  section { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 8px 10px; }
  section h2 { font-size: 13px; margin: 0 0 4px; }
  svg { width: 100%; height: 280px; display: block; }
  .legend { color: var(--muted); font-size: 11px; min-height: 16px; }
  .legend i { display: inline-block; width: 10px; height: 10px; margin: 0 3px 0 8px; vertical-align: -1px; }
  #events { font-size: 12px; max-height: 300px; overflow: auto; margin: 0; padding: 0; list-style: none; }
  #events .drift { color: #c0392b; font-weight: 600; }
  #events .signal { color: var(--muted); }
  #status.stale { color: #c0392b; }
  section.wide { grid-column: 1 / -1; }
  #profiles { border-collapse: collapse; width: 100%; font-size: 12px; }
  #profiles th, #profiles td { text-align: left; padding: 3px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
  #profiles th { color: var(--muted); font-weight: 600; }
  #profiles i { display: inline-block; width: 10px; height: 10px; margin-right: 6px; vertical-align: -1px; }
</style>
</head>
<body>
<header>
  <h1>streamclust</h1>
  <div class="figure"><b id="backend">–</b><span>backend</span></div>
  <div class="figure" id="group-figure" hidden><b id="group">–</b><span>consumer group (sync)</span></div>
  <div class="figure"><b id="rate">–</b><span>records/s</span></div>
  <div class="figure"><b id="records">–</b><span>records</span></div>
  <div class="figure"><b id="clusters">–</b><span>clusters</span></div>
  <div class="figure"><b id="versions">–</b><span>model / store version</span></div>
  <div class="figure"><b id="drifts">–</b><span>drift incidents (open)</span></div>
  <div class="figure"><span id="status">connecting…</span></div>
</header>
<main>
  <section><h2>Cluster sizes over time (weight)</h2>
    <svg id="sizes" data-series="0" data-points="0" viewBox="0 0 600 280" preserveAspectRatio="none"></svg>
    <div class="legend" id="sizes-legend"></div></section>
  <section><h2>Drift: each statistic on its own scale; shaded = drift incident</h2>
    <svg id="drift" data-series="0" data-points="0" data-markers="0" viewBox="0 0 600 280" preserveAspectRatio="none"></svg>
    <div class="legend" id="drift-legend"></div></section>
  <section><h2>Embeddings and centroids, PCA projection (recent sample)</h2>
    <svg id="pca" data-series="0" data-points="0" viewBox="0 0 600 280"></svg>
    <div class="legend" id="pca-legend"></div></section>
  <section><h2>Recent lifecycle and drift events (newest first)</h2><ul id="events"></ul></section>
  <section class="wide"><h2>What each cluster holds, in the input's own units (recent records weigh more)</h2>
    <table id="profiles" data-rows="0"></table>
    <div class="legend">"Sets it apart": the features whose mean differs most from the other clusters' records, in standard deviations of all recent records.</div></section>
</main>
<script>
"use strict";
var PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
  "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#ad494a"];
var W = 600, H = 280, PAD = 34;
var NS = "http://www.w3.org/2000/svg";
function color(id) { return PALETTE[((id % PALETTE.length) + PALETTE.length) % PALETTE.length]; }
function el(name, attrs, parent) {
  var node = document.createElementNS(NS, name);
  for (var k in attrs) node.setAttribute(k, attrs[k]);
  if (parent) parent.appendChild(node);
  return node;
}
function text(parent, x, y, s, anchor) {
  var t = el("text", { x: x, y: y, "font-size": 10, fill: "#6b7385", "text-anchor": anchor || "start" }, parent);
  t.textContent = s; return t;
}
function fmt(x) {
  if (x === null || x === undefined || !isFinite(x)) return "–";
  var a = Math.abs(x);
  return a >= 1e6 ? (x / 1e6).toFixed(1) + "M" : a >= 1e4 ? (x / 1e3).toFixed(1) + "k" : a >= 100 ? x.toFixed(0) : a >= 1 ? x.toFixed(2) : x.toFixed(3);
}
function clock(t) { return new Date(t).toTimeString().slice(0, 8); }
/** Text from the stream (feature names, record keys) goes into HTML escaped. */
function esc(s) {
  return String(s).replace(/[&<>"']/g, function (c) {
    return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
  });
}
function num(x) {
  if (x === null || x === undefined || !isFinite(x)) return "–";
  return Math.abs(x) >= 100 ? x.toFixed(0) : x.toPrecision(3);
}
function axes(svg, t0, t1, lo, hi) {
  el("line", { x1: PAD, y1: H - PAD, x2: W - 6, y2: H - PAD, stroke: "#ccd" }, svg);
  el("line", { x1: PAD, y1: 6, x2: PAD, y2: H - PAD, stroke: "#ccd" }, svg);
  text(svg, PAD, H - PAD + 14, clock(t0)); text(svg, W - 6, H - PAD + 14, clock(t1), "end");
  text(svg, PAD - 3, H - PAD, fmt(lo), "end"); text(svg, PAD - 3, 14, fmt(hi), "end");
}
function scaler(t0, t1, lo, hi) {
  var dt = Math.max(t1 - t0, 1), dv = Math.max(hi - lo, 1e-12);
  return { x: function (t) { return PAD + (W - 6 - PAD) * (t - t0) / dt; },
           y: function (v) { return H - PAD - (H - PAD - 8) * (v - lo) / dv; } };
}
function polyline(svg, pts, stroke, width) {
  if (pts.length === 0) return;
  el("polyline", { points: pts.join(" "), fill: "none", stroke: stroke, "stroke-width": width || 1.5 }, svg);
}
function clear(svg) { while (svg.firstChild) svg.removeChild(svg.firstChild); }

function drawSizes(data) {
  var svg = document.getElementById("sizes"); clear(svg);
  var rows = data.sizes, ids = {}, hi = 0, points = 0;
  rows.forEach(function (r) { for (var id in r.clusters) { ids[id] = true; hi = Math.max(hi, r.clusters[id]); } });
  var list = Object.keys(ids).map(Number).sort(function (a, b) { return a - b; });
  if (rows.length === 0) { svg.dataset.series = "0"; svg.dataset.points = "0"; return; }
  var t0 = rows[0].t, t1 = rows[rows.length - 1].t, s = scaler(t0, t1, 0, hi || 1);
  axes(svg, t0, t1, 0, hi);
  list.forEach(function (id) {
    var pts = [];
    rows.forEach(function (r) { var v = r.clusters[id]; if (v !== undefined) { pts.push(s.x(r.t).toFixed(1) + "," + s.y(v).toFixed(1)); points++; } });
    polyline(svg, pts, color(id));
  });
  svg.dataset.series = String(list.length); svg.dataset.points = String(points);
  document.getElementById("sizes-legend").innerHTML = list.slice(0, 24).map(function (id) {
    return '<i style="background:' + color(id) + '"></i>' + id; }).join("") + (list.length > 24 ? " …" : "");
}

// One strip per statistic, top to bottom, each scaled to its own range: the input tests
// (statistic / critical value, with the line at 1 above which they call it drift), then the
// embedding and assignment signals.
var DRIFT_SERIES = [["input", "input tests (÷ critical)", "#c0392b", 1], ["psi", "assignment PSI", "#1f77b4", 0],
  ["js", "JS divergence (bits)", "#2ca02c", 0], ["ewma", "distance EWMA", "#9467bd", 0]];
function drawDrift(data) {
  var svg = document.getElementById("drift"); clear(svg);
  var rows = data.drift, points = 0, series = 0, spans = 0;
  if (rows.length === 0) { svg.dataset.series = "0"; svg.dataset.points = "0"; svg.dataset.markers = "0"; return; }
  var t0 = rows[0].t, t1 = rows[rows.length - 1].t, x = scaler(t0, t1, 0, 1).x;
  el("line", { x1: PAD, y1: H - PAD, x2: W - 6, y2: H - PAD, stroke: "#ccd" }, svg);
  text(svg, PAD, H - PAD + 14, clock(t0)); text(svg, W - 6, H - PAD + 14, clock(t1), "end");
  data.incidents.forEach(function (inc) {
    var to = inc.to === null ? t1 : inc.to;
    if (to < t0 || inc.from > t1) return;
    var a = x(Math.max(inc.from, t0)), b = Math.max(x(Math.min(to, t1)), a + 3);
    var rect = el("rect", { x: a.toFixed(1), y: 4, width: (b - a).toFixed(1), height: H - PAD - 4,
      fill: "#c0392b", "fill-opacity": inc.to === null ? 0.22 : 0.12 }, svg);
    el("title", {}, rect).textContent = "incident #" + inc.id + (inc.to === null ? " (open) " : " ") + inc.what;
    text(svg, a + 2, H - PAD - 4, "#" + inc.id).setAttribute("fill", "#c0392b");
    spans++;
  });
  var strip = (H - PAD - 8) / DRIFT_SERIES.length;
  DRIFT_SERIES.forEach(function (d, k) {
    var top = 6 + k * strip, bottom = top + strip - 6, hi = d[3], pts = [];
    rows.forEach(function (r) { if (r[d[0]] !== null) hi = Math.max(hi, r[d[0]]); });
    hi = hi * 1.1 || 1;
    function y(v) { return bottom - (bottom - top) * Math.min(v, hi) / hi; }
    el("line", { x1: PAD, y1: bottom, x2: W - 6, y2: bottom, stroke: "#eef" }, svg);
    if (d[3] > 0) el("line", { x1: PAD, y1: y(d[3]), x2: W - 6, y2: y(d[3]), stroke: d[2], "stroke-dasharray": "3 3", "stroke-opacity": 0.6 }, svg);
    text(svg, PAD + 4, top + 9, d[1] + " (max " + fmt(hi / 1.1) + ")");
    rows.forEach(function (r) { if (r[d[0]] !== null) { pts.push(x(r.t).toFixed(1) + "," + y(r[d[0]]).toFixed(1)); points++; } });
    if (pts.length > 0) series++;
    polyline(svg, pts, d[2]);
  });
  svg.dataset.series = String(series); svg.dataset.points = String(points); svg.dataset.markers = String(spans);
  document.getElementById("drift-legend").innerHTML = DRIFT_SERIES.map(function (d) {
    return '<i style="background:' + d[2] + '"></i>' + d[1]; }).join("") +
    '<i style="background:#c0392b;opacity:0.25"></i>drift incident (' + spans + ")";
}

function drawPca(data) {
  var svg = document.getElementById("pca"); clear(svg);
  var p = data.projection, all = p.points.concat(p.centroids);
  if (all.length === 0) { svg.dataset.series = "0"; svg.dataset.points = "0"; return; }
  var xs = all.map(function (q) { return q.x; }), ys = all.map(function (q) { return q.y; });
  var x0 = Math.min.apply(null, xs), x1 = Math.max.apply(null, xs), y0 = Math.min.apply(null, ys), y1 = Math.max.apply(null, ys);
  var span = Math.max(x1 - x0, y1 - y0, 1e-9) * 1.1, cx = (x0 + x1) / 2, cy = (y0 + y1) / 2;
  var side = H - 20, ox = (W - side) / 2;
  function X(x) { return ox + side * ((x - cx) / span + 0.5); }
  function Y(y) { return 10 + side * (0.5 - (y - cy) / span); }
  el("rect", { x: ox, y: 10, width: side, height: side, fill: "none", stroke: "#e3e6ee" }, svg);
  p.points.forEach(function (q) { el("circle", { cx: X(q.x).toFixed(1), cy: Y(q.y).toFixed(1), r: 2.2, fill: color(q.cluster), "fill-opacity": 0.45 }, svg); });
  var maxSize = Math.max.apply(null, p.centroids.map(function (c) { return c.size; }).concat([1]));
  p.centroids.forEach(function (c) {
    var r = 5 + 9 * Math.sqrt(c.size / maxSize);
    el("circle", { cx: X(c.x).toFixed(1), cy: Y(c.y).toFixed(1), r: r.toFixed(1), fill: color(c.id), stroke: "#1d2433", "stroke-width": 1.5 }, svg);
    var t = text(svg, X(c.x) + r + 2, Y(c.y) + 3, String(c.id)); t.setAttribute("fill", "#1d2433");
  });
  svg.dataset.series = String(p.centroids.length); svg.dataset.points = String(p.points.length);
  document.getElementById("pca-legend").textContent = p.points.length + " recent embeddings (small), " + p.centroids.length +
    " centroids (large, area ∝ size); variance along the axes " + fmt(p.variance[0]) + " and " + fmt(p.variance[1]);
}

function drawEvents(data) {
  var list = document.getElementById("events");
  list.innerHTML = data.events.slice(-40).reverse().map(function (e) {
    var incident = e.incident !== null && e.incident !== undefined;
    var what = incident ? "drift incident #" + e.incident + " " + e.kind.replace("incident-", "") + " — " + e.what
      : e.type === "drift" ? e.kind + " signal by " + e.detector
      : "cluster " + e.cluster + " " + e.kind + (e.what ? " — " + e.what : "");
    return '<li class="' + (incident ? "drift" : e.type === "drift" ? "signal" : e.type) + '">' + clock(e.t) + " " + esc(what) + "</li>";
  }).join("");
}

function drawProfiles(data) {
  var table = document.getElementById("profiles");
  var rows = data.profiles.slice().sort(function (a, b) { return b.share - a.share; });
  table.setAttribute("data-rows", String(rows.length));
  table.innerHTML = "<tr><th>cluster</th><th>share</th><th>sets it apart: mean (rest of the records, difference)</th><th>recent examples</th></tr>" +
    rows.map(function (p) {
      var apart = p.distinguishing.map(function (f) {
        return esc(f.feature) + " " + num(f.mean) + " (rest " + num(f.restMean) + ", " + (f.difference >= 0 ? "+" : "") + f.difference.toFixed(1) + " sd)";
      }).join("<br>");
      return '<tr data-cluster="' + p.id + '"><td><i style="background:' + color(p.id) + '"></i>' + p.id + "</td><td>" +
        (100 * p.share).toFixed(1) + " %</td><td>" + (apart || "–") + "</td><td>" + esc(p.examples.join(", ")) + "</td></tr>";
    }).join("");
}

var updates = 0;
function render(data) {
  document.getElementById("backend").textContent = data.backend || "–";
  if (data.group) {
    var g = data.group;
    document.getElementById("group-figure").hidden = false;
    document.getElementById("group").textContent = (g.leader ? "leader" : "follower") + " · " +
      g.instances.length + " instance" + (g.instances.length === 1 ? "" : "s") + " · epoch " +
      (g.epoch === null ? "–" : g.epoch) + (g.lagVersions > 0 ? " (" + g.lagVersions + " behind)" : "");
    document.getElementById("group").title = g.instances.join("\\n");
  }
  document.getElementById("rate").textContent = fmt(data.recordsPerSecond);
  document.getElementById("records").textContent = fmt(data.records);
  document.getElementById("clusters").textContent = String(data.projection.centroids.length);
  document.getElementById("versions").textContent = (data.modelVersion === null ? "–" : data.modelVersion) + " / " + (data.storeVersion === null ? "–" : data.storeVersion);
  document.getElementById("drifts").textContent = data.incidents.length + " (" +
    data.incidents.filter(function (i) { return i.to === null; }).length + ")";
  drawSizes(data); drawDrift(data); drawPca(data); drawEvents(data); drawProfiles(data);
  updates++;
  document.body.dataset.updates = String(updates);
  var status = document.getElementById("status");
  status.className = ""; status.textContent = "updated " + clock(data.now);
}
function poll() {
  fetch("api/live" + location.search, { cache: "no-store" })
    .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.json(); })
    .then(render)
    .catch(function (e) { var s = document.getElementById("status"); s.className = "stale"; s.textContent = "not updating: " + e.message; })
    .then(function () { setTimeout(poll, 1000); });
}
poll();
</script>
</body>
</html>
`;
