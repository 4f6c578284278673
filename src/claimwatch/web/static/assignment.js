/* The load history chart (Apache ECharts, vendored): weighted load per handler and the unassigned queue
   per snapshot. Data comes from the page's JSON block. */
(function () {
  "use strict";
  function init() {
    var block = document.getElementById("load-data");
    var el = document.getElementById("load-chart");
    if (!block || !el || typeof window.echarts === "undefined") { return; }
    var data = JSON.parse(block.textContent || "{}");
    var series = (data.series || []).map(function (s) {
      return { name: s.name, type: "line", data: s.data, connectNulls: true, showSymbol: false };
    });
    series.push({ name: data.queue_name, type: "line", data: data.queue || [], yAxisIndex: 1,
                  lineStyle: { type: "dashed", width: 2 }, itemStyle: { color: "#c92a2a" },
                  markPoint: data.queue_peak > 0 ? { data: [{ type: "max" }] } : undefined });
    el.style.height = "320px";
    var chart = window.echarts.init(el, null, { renderer: "canvas" });
    chart.setOption({
      animation: false,
      grid: { left: 48, right: 48, top: 48, bottom: 40, containLabel: true },
      legend: { top: 0, type: "scroll" },
      tooltip: { trigger: "axis" },
      xAxis: { type: "category", data: data.times || [] },
      yAxis: [{ type: "value", min: 0 }, { type: "value", min: 0, minInterval: 1 }],
      series: series
    });
    window.claimwatchCharts = [chart];
    window.addEventListener("resize", function () { chart.resize(); });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
