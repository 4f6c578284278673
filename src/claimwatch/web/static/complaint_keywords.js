/* Complaint keyword trends (/complaints/keywords): one line per leading term, complaints mentioning it per
   month. Apache ECharts is vendored; the data comes from the page's JSON block (no inline script: CSP). */
(function () {
  "use strict";
  function init() {
    var block = document.getElementById("keyword-data");
    var el = document.getElementById("keyword-chart");
    if (!block || !el || typeof window.echarts === "undefined") { return; }
    var data = JSON.parse(block.textContent || "{}");
    var terms = data.terms || [];
    if (!terms.length) { return; }
    var chart = window.echarts.init(el, null, { renderer: "canvas" });
    chart.setOption({
      animation: false,
      grid: { left: 40, right: 16, top: 40, bottom: 28 },
      legend: { type: "scroll", top: 0 },
      tooltip: { trigger: "axis" },
      xAxis: { type: "category", data: data.periods || [] },
      yAxis: { type: "value", minInterval: 1 },
      series: terms.map(function (t) {
        return { name: t.term, type: "line", data: t.complaints, symbolSize: 6 };
      })
    });
    window.claimwatchKeywordChart = chart;
    window.addEventListener("resize", function () { chart.resize(); });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
