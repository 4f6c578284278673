/* The survey results chart (Apache ECharts, vendored): mean scores (0–10) per row of the table, one bar
   per dimension. Data comes from the page's JSON block, never a CDN. */
(function () {
  "use strict";
  function init() {
    var block = document.getElementById("results-data");
    var el = document.getElementById("results-chart");
    if (!block || !el || typeof window.echarts === "undefined") { return; }
    var data = JSON.parse(block.textContent || "{}");
    var labels = (data.labels || []).map(function (label, i) {
      var tenant = (data.tenants || [])[i];
      return tenant ? tenant + " · " + label : label;
    });
    el.style.height = Math.max(240, Math.min(480, 120 + labels.length * 28)) + "px";
    var colors = { overall: "#1d4e89", timeliness: "#2f9e44", transparency: "#f08c00", attitude: "#7048e8" };
    var chart = window.echarts.init(el, null, { renderer: "canvas" });
    chart.setOption({
      animation: false,
      grid: { left: 48, right: 16, top: 36, bottom: 64, containLabel: true },
      legend: { top: 0 },
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      xAxis: { type: "category", data: labels, axisLabel: { interval: 0, rotate: labels.length > 6 ? 30 : 0 } },
      yAxis: { type: "value", min: 0, max: 10, interval: 2 },
      series: (data.series || []).map(function (s) {
        return { name: s.name, type: "bar", data: s.data, itemStyle: { color: colors[s.key] || undefined } };
      })
    });
    window.claimwatchCharts = [chart];
    window.addEventListener("resize", function () { chart.resize(); });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
