// usmca-bot charts: a tiny inline-SVG chart renderer with no dependencies and no network use.
// Shared by the scan report and (later) the web dashboard. MIT, part of usmca-bot.
//
//   UsmcaCharts.histogram(el, {bins: [n...], lines: [{at, label, color}], xLabel, yLabel})
//   UsmcaCharts.stackedBars(el, {rows: [{label, values: {key: n}}], keys: [...], colors: {key: c}})
//   UsmcaCharts.timeline(el, {points: [{t, y, color, title}], bands: [{from, to, label}], yLabel})
(function (global) {
  "use strict";
  var NS = "http://www.w3.org/2000/svg";

  function node(name, attrs, parent) {
    var n = document.createElementNS(NS, name);
    for (var k in attrs) { if (Object.prototype.hasOwnProperty.call(attrs, k)) n.setAttribute(k, attrs[k]); }
    if (parent) parent.appendChild(n);
    return n;
  }
  function text(parent, x, y, s, attrs) {
    var t = node("text", Object.assign({x: x, y: y}, attrs || {}), parent);
    t.textContent = s;
    return t;
  }
  function svg(el, width, height, label) {
    var s = node("svg", {viewBox: "0 0 " + width + " " + height, width: "100%", role: "img",
                         "aria-label": label || "chart", "class": "usmca-chart"});
    el.appendChild(s);
    return s;
  }
  function niceMax(v) {
    if (v <= 0) return 1;
    var p = Math.pow(10, Math.floor(Math.log10(v)));
    var steps = [1, 2, 5, 10];
    for (var i = 0; i < steps.length; i++) { if (steps[i] * p >= v) return steps[i] * p; }
    return 10 * p;
  }
  // Ticks at equal heights; on a log scale (log10(1 + v)) their values are computed back.
  function yAxis(s, m, h, max, ticks, label, log) {
    for (var i = 0; i <= ticks; i++) {
      var f = i / ticks, y = m.top + h - h * f;
      var v = log ? Math.pow(10, f * Math.log10(1 + max)) - 1 : max * f;
      node("line", {x1: m.left, x2: m.left + 4, y1: y, y2: y, "class": "axis"}, s);
      node("line", {x1: m.left, x2: "100%", y1: y, y2: y, "class": "grid"}, s);
      text(s, m.left - 6, y + 4, max >= 10 ? String(Math.round(v)) : v.toFixed(2), {"text-anchor": "end", "class": "tick"});
    }
    if (label) text(s, 12, m.top + h / 2, label, {transform: "rotate(-90 12 " + (m.top + h / 2) + ")", "text-anchor": "middle", "class": "axis-label"});
  }

  // Counts over [0, 1] in equal bins, with vertical threshold lines.
  function histogram(el, o) {
    var W = 720, H = 260, m = {top: 28, right: 16, bottom: 40, left: 56};
    var w = W - m.left - m.right, h = H - m.top - m.bottom;
    var s = svg(el, W, H, o.title);
    var bins = o.bins || [], n = bins.length || 1;
    var max = niceMax(Math.max.apply(null, bins.concat([1])));
    var log = !!o.log;
    var scale = function (v) { return log ? Math.log10(1 + v) / Math.log10(1 + max) : v / max; };
    yAxis(s, m, h, max, 4, o.yLabel, log);
    bins.forEach(function (c, i) {
      var bh = h * scale(c);
      var r = node("rect", {x: m.left + w * i / n + 1, y: m.top + h - bh, width: Math.max(1, w / n - 2), height: bh, "class": "bar"}, s);
      node("title", {}, r).textContent = (i / n).toFixed(2) + "–" + ((i + 1) / n).toFixed(2) + ": " + c;
    });
    for (var t = 0; t <= 10; t += 2) {
      var x = m.left + w * t / 10;
      node("line", {x1: x, x2: x, y1: m.top + h, y2: m.top + h + 4, "class": "axis"}, s);
      text(s, x, m.top + h + 16, (t / 10).toFixed(1), {"text-anchor": "middle", "class": "tick"});
    }
    if (o.xLabel) text(s, m.left + w / 2, H - 6, o.xLabel, {"text-anchor": "middle", "class": "axis-label"});
    (o.lines || []).forEach(function (l, i) {
      var x = m.left + w * Math.min(1, Math.max(0, l.at));
      node("line", {x1: x, x2: x, y1: m.top - 4, y2: m.top + h, stroke: l.color || "#c00", "class": "threshold"}, s);
      text(s, x - 3, m.top - 8 - (i % 2) * 11, l.label + " " + l.at, {"text-anchor": "end", fill: l.color || "#c00", "class": "threshold-label"});
    });
    node("line", {x1: m.left, x2: m.left + w, y1: m.top + h, y2: m.top + h, "class": "axis"}, s);
    return s;
  }

  // One horizontal bar per row, split by key.
  function stackedBars(el, o) {
    var rows = o.rows || [], keys = o.keys || [];
    var rowH = 22, m = {top: 30, right: 60, bottom: 10, left: 180};
    var W = 720, H = m.top + m.bottom + rowH * Math.max(1, rows.length), w = W - m.left - m.right;
    var s = svg(el, W, H, o.title);
    var total = function (r) { return keys.reduce(function (a, k) { return a + (r.values[k] || 0); }, 0); };
    var max = niceMax(Math.max.apply(null, rows.map(total).concat([1])));
    keys.forEach(function (k, i) {
      node("rect", {x: m.left + i * 90, y: 8, width: 12, height: 12, fill: o.colors[k] || "#888"}, s);
      text(s, m.left + i * 90 + 16, 18, k, {"class": "tick"});
    });
    if (!rows.length) text(s, m.left, m.top + 16, o.empty || "nothing to show", {"class": "tick"});
    rows.forEach(function (r, i) {
      var y = m.top + i * rowH, x = m.left;
      text(s, m.left - 8, y + rowH / 2 + 4, r.label, {"text-anchor": "end", "class": "tick"});
      keys.forEach(function (k) {
        var v = r.values[k] || 0;
        if (!v) return;
        var bw = w * v / max;
        var rect = node("rect", {x: x, y: y + 3, width: bw, height: rowH - 6, fill: o.colors[k] || "#888", "class": "seg"}, s);
        node("title", {}, rect).textContent = r.label + ": " + v + " " + k;
        x += bw;
      });
      text(s, x + 6, y + rowH / 2 + 4, String(total(r)), {"class": "tick"});
    });
    return s;
  }

  // Points over time (y in [0, 1]) with shaded bands for periods such as incidents.
  function timeline(el, o) {
    var W = 720, H = 260, m = {top: 16, right: 16, bottom: 40, left: 56};
    var w = W - m.left - m.right, h = H - m.top - m.bottom;
    var s = svg(el, W, H, o.title);
    var pts = o.points || [], bands = o.bands || [];
    var times = pts.map(function (p) { return p.t; });
    bands.forEach(function (b) { times.push(b.from, b.to); });
    var t0 = Math.min.apply(null, times.concat([Date.now()])), t1 = Math.max.apply(null, times.concat([t0 + 1]));
    if (times.length) { t0 = Math.min.apply(null, times); t1 = Math.max.apply(null, times); }
    if (t1 <= t0) t1 = t0 + 60000;
    var X = function (t) { return m.left + w * (t - t0) / (t1 - t0); };
    var Y = function (v) { return m.top + h - h * Math.min(1, Math.max(0, v)); };
    yAxis(s, m, h, 1, 4, o.yLabel);
    bands.forEach(function (b) {
      var r = node("rect", {x: X(b.from), y: m.top, width: Math.max(2, X(b.to) - X(b.from)), height: h, "class": "band"}, s);
      node("title", {}, r).textContent = b.label;
    });
    for (var i = 0; i <= 4; i++) {
      var t = t0 + (t1 - t0) * i / 4, x = X(t);
      node("line", {x1: x, x2: x, y1: m.top + h, y2: m.top + h + 4, "class": "axis"}, s);
      var d = new Date(t).toISOString().replace("T", " ").slice(0, 16);
      text(s, x, m.top + h + 16, d, {"text-anchor": i === 0 ? "start" : i === 4 ? "end" : "middle", "class": "tick"});
    }
    pts.forEach(function (p) {
      var c = node("circle", {cx: X(p.t), cy: Y(p.y), r: 3, fill: p.color || "#36c", "class": "point"}, s);
      if (p.title) node("title", {}, c).textContent = p.title;
    });
    node("line", {x1: m.left, x2: m.left + w, y1: m.top + h, y2: m.top + h, "class": "axis"}, s);
    return s;
  }

  global.UsmcaCharts = {histogram: histogram, stackedBars: stackedBars, timeline: timeline};
})(window);
