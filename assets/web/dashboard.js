// usmca-bot dashboard: draws the overview charts with uPlot from the JSON embedded in the page
// (<script type="application/json" class="chart-data">), and re-draws them after htmx swaps.
// No inline scripts anywhere: the Content-Security-Policy allows scripts from this origin only.
(function () {
  "use strict";
  var palette = ["#3b5bdb", "#c92a2a", "#2b8a3e", "#e67700", "#862e9c", "#0b7285", "#5c940d", "#a61e4d"];

  function draw(el) {
    if (el.dataset.drawn === "1") return;
    var src = document.getElementById(el.dataset.source);
    if (!src) return;
    var spec;
    try { spec = JSON.parse(src.textContent); } catch (e) { return; }
    var width = Math.max(280, el.clientWidth || 600);
    var series = [{}];
    spec.series.forEach(function (name, i) {
      series.push({ label: name, stroke: palette[i % palette.length], width: 2,
        fill: spec.stacked ? palette[i % palette.length] + "33" : undefined });
    });
    var opts = { title: spec.title, width: width, height: 240, series: series,
      scales: { x: { time: true } }, axes: [{}, { size: 50 }] };
    el.textContent = "";
    new uPlot(opts, spec.data, el);
    el.dataset.drawn = "1";
  }

  function drawAll(root) {
    (root || document).querySelectorAll(".chart[data-source]").forEach(draw);
  }

  document.addEventListener("DOMContentLoaded", function () { drawAll(document); });
  document.addEventListener("htmx:afterSwap", function (e) { drawAll(e.target); });
})();
