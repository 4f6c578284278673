/* The quality dashboard's charts (Apache ECharts, vendored): one small trend chart per KPI, with its
   target, and the open SLA clocks by light. Data comes from the page's JSON block, never a CDN. */
(function () {
  "use strict";
  function init() {
    var block = document.getElementById("dashboard-data");
    if (!block || typeof window.echarts === "undefined") { return; }
    var data = JSON.parse(block.textContent || "{}");
    var labels = data.labels || {};
    var charts = [];
    var grid = document.getElementById("trend-charts");
    (data.trend || []).forEach(function (kpi) {
      var box = document.createElement("figure");
      box.className = "chart-box";
      box.setAttribute("data-kpi", kpi.code);
      var caption = document.createElement("figcaption");
      caption.textContent = kpi.name + (kpi.unit === "%" ? " (%)" : "");
      var el = document.createElement("div");
      el.className = "chart";
      el.id = "trend-" + kpi.code;
      box.appendChild(caption);
      box.appendChild(el);
      grid.appendChild(box);
      var series = [{ name: labels.actual, type: "line", data: kpi.values, connectNulls: false, symbolSize: 6,
                      itemStyle: { color: "#1d4e89" } }];
      if (kpi.target !== null && kpi.target !== undefined) {
        series.push({ name: labels.target, type: "line", data: data.periods.map(function () { return kpi.target; }),
                      symbol: "none", lineStyle: { type: "dashed", color: "#2f9e44" }, itemStyle: { color: "#2f9e44" } });
      }
      var chart = window.echarts.init(el, null, { renderer: "canvas" });
      chart.setOption({
        animation: false,
        grid: { left: 44, right: 12, top: 16, bottom: 28 },
        tooltip: { trigger: "axis" },
        xAxis: { type: "category", data: data.periods, axisLabel: { fontSize: 10 } },
        yAxis: { type: "value", scale: true, axisLabel: { fontSize: 10 } },
        series: series
      });
      charts.push(chart);
    });
    var lightsEl = document.getElementById("lights-chart");
    if (lightsEl && data.lights) {
      var lights = window.echarts.init(lightsEl, null, { renderer: "canvas" });
      lights.setOption({
        animation: false,
        tooltip: { trigger: "item" },
        series: [{
          name: "lights", type: "pie", radius: ["45%", "75%"],
          label: { formatter: "{b}: {c}" },
          data: [
            { name: labels.green, value: data.lights.green || 0, itemStyle: { color: "#2f9e44" } },
            { name: labels.yellow, value: data.lights.yellow || 0, itemStyle: { color: "#f08c00" } },
            { name: labels.red, value: data.lights.red || 0, itemStyle: { color: "#e03131" } }
          ]
        }]
      });
      charts.push(lights);
    }
    window.claimwatchCharts = charts;
    window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
