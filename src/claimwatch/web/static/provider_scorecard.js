/* A provider's scorecard chart (Apache ECharts, vendored): on-time and standard rates per month against the
   peers' median on time. Data comes from the page's JSON block (#scorecard-data). */
(function () {
  "use strict";
  function draw() {
    var box = document.getElementById("scorecard-chart");
    var block = document.getElementById("scorecard-data");
    if (!box || !block || typeof echarts === "undefined") { return; }
    var data = JSON.parse(block.textContent || "{}");
    box.style.height = "280px";
    var chart = echarts.init(box);
    function line(key, dashed) {
      return { name: data.labels[key], type: "line", connectNulls: false, data: data[key],
               lineStyle: dashed ? { type: "dashed" } : {} };
    }
    chart.setOption({
      tooltip: { trigger: "axis" },
      legend: { top: 0 },
      grid: { left: 40, right: 16, top: 36, bottom: 28 },
      xAxis: { type: "category", data: data.periods },
      yAxis: { type: "value", min: 0, max: 100 },
      series: [line("on_time", false), line("standard", false), line("peer_median", true)]
    });
    window.addEventListener("resize", function () { chart.resize(); });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", draw); } else { draw(); }
})();
