// The scan report: lays out the page from the JSON embedded in it, using UsmcaCharts.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("data").textContent);
  var app = document.getElementById("app");
  var COLORS = {warn: "#e0a100", "delete": "#8a6d3b", timeout: "#e06c00", kick: "#c23b22", ban: "#7b1e7a", none: "#5a7bd8"};
  var ACTIONS = ["warn", "delete", "timeout", "kick", "ban"];
  function el(tag, attrs, parent, text) {
    var n = document.createElement(tag);
    for (var k in attrs) { if (Object.prototype.hasOwnProperty.call(attrs, k)) n.setAttribute(k, attrs[k]); }
    if (text !== undefined) n.textContent = text;
    if (parent) parent.appendChild(n);
    return n;
  }
  function who(id) { return data.names[id] ? data.names[id] + " (" + id + ")" : id; }
  function chan(id) { return data.channels[id] ? "#" + data.channels[id] : id; }
  function card(title, id, note) {
    var c = el("section", {"class": "card", id: id}, app);
    el("h2", {}, c, title);
    if (note) el("p", {"class": "muted"}, c, note);
    return c;
  }

  var sources = data.sources.length === 1 ? data.sources[0] : data.sources.length + " files";
  el("p", {"class": "meta"}, app, (data.guilds.length ? data.guilds.join(", ") + " · " : "") + sources +
    " · model " + data.model + " · dry run: nothing was done on Discord");

  var acted = ACTIONS.reduce(function (a, k) { return a + (data.actions[k] || 0); }, 0);
  var kpis = el("div", {"class": "kpis"}, app);
  [["messages", data.total], ["channels", Object.keys(data.channels).length || "–"],
   ["deleted", data.split ? data.split.deleted : (data.actions["delete"] || 0)], ["acted on", acted],
   ["incidents", data.incidents.length], ["malformed", data.malformed]].forEach(function (k) {
    var d = el("div", {"class": "kpi"}, kpis);
    el("b", {}, d, String(k[1]));
    el("span", {"class": "muted"}, d, k[0]);
  });

  var t = data.thresholds;
  var h1 = card("Severity of every message", "severity",
    "What a message says: deleted at enforcement.delete_at, whoever wrote it (log scale).");
  UsmcaCharts.histogram(h1, {bins: data.histograms.severity, log: true, title: "severity histogram",
    xLabel: "severity (weighted label maximum)", yLabel: "messages",
    lines: [{at: data.delete_at, label: "delete_at", color: "#8a6d3b"}]});
  var h2 = card("Behaviour score of every message", "behaviour",
    "How the member behaves (history, standing): the sanction thresholds (log scale).");
  UsmcaCharts.histogram(h2, {bins: data.histograms.behaviour, log: true, title: "behaviour histogram",
    xLabel: "behaviour score", yLabel: "messages",
    lines: [{at: t.warn, label: "warn", color: COLORS.warn}, {at: t.timeout, label: "timeout", color: COLORS.timeout},
            {at: t.kick, label: "kick", color: COLORS.kick}, {at: t.ban, label: "ban", color: COLORS.ban}]});

  var mc = card("Actions per member", "members", "Members with at least one action, most first.");
  UsmcaCharts.stackedBars(mc, {keys: ACTIONS, colors: COLORS, title: "actions per member",
    empty: "no member would have been acted on",
    rows: data.members.map(function (m) { return {label: m.name || m.id, values: m.actions}; })});

  var tc = card("Timeline of flagged messages and incidents", "timeline",
    "Each dot is a flagged or acted-on message (colour: action); shaded spans are incidents.");
  UsmcaCharts.timeline(tc, {yLabel: "severity", title: "timeline",
    points: data.timeline.map(function (p) {
      return {t: p.t, y: p.s, color: COLORS[p.a] || COLORS.none, title: who(p.u) + " in " + chan(p.c) + ": " + p.a + " (" + p.s + ")"};
    }),
    bands: data.incidents.map(function (i) {
      var from = Date.parse(i.started_at), to = i.ended_at ? Date.parse(i.ended_at) : from;
      return {from: from, to: to, label: i.kind + (i.channel_id ? " in " + chan(String(i.channel_id)) : "") + ": " + i.response};
    })});
  if (data.incidents.length) {
    var it = el("table", {}, tc);
    var hr = el("tr", {}, el("thead", {}, it));
    ["started", "kind", "channel", "participants", "response"].forEach(function (h) { el("th", {}, hr, h); });
    var ib = el("tbody", {}, it);
    data.incidents.forEach(function (i) {
      var r = el("tr", {}, ib);
      el("td", {}, r, i.started_at);
      el("td", {}, r, i.kind);
      el("td", {}, r, i.channel_id ? chan(String(i.channel_id)) : "–");
      el("td", {"class": "num"}, r, String(i.participants.length));
      el("td", {"class": "text"}, r, i.response);
    });
  }

  var top = card("Most toxic messages", "top");
  var tbl = el("table", {}, top);
  var head = el("tr", {}, el("thead", {}, tbl));
  ["severity", "label", "action", "member", "channel", "message"].forEach(function (h) { el("th", {}, head, h); });
  var body = el("tbody", {}, tbl);
  data.top.forEach(function (m) {
    var r = el("tr", {}, body);
    el("td", {"class": "num"}, r, m.score.toFixed(3));
    el("td", {}, r, m.label);
    var a = el("td", {}, r);
    el("span", {"class": "tag", style: "background:" + (COLORS[m.action] || "#888")}, a, m.action);
    el("td", {}, r, who(m.author));
    el("td", {}, r, chan(m.channel));
    el("td", {"class": "text"}, r, m.content);
  });
  document.body.setAttribute("data-rendered", "true");
})();
