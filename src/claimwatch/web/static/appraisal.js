/* The appraisal charts (Apache ECharts, vendored): the peer distribution (people per band of 10 points, the
   person's own band marked) and a person's 12-month trend against the peers' median. Data comes from the
   page's JSON block (#appraisal-data). */
(function () {
  "use strict";
  function draw() {
    var block = document.getElementById("appraisal-data");
    if (!block || typeof echarts === "undefined") { return; }
    var data = JSON.parse(block.textContent || "{}");
    var labels = data.labels || {};
    var charts = [];
    var dist = document.getElementById("appraisal-distribution");
    if (dist) {
      dist.style.height = "220px";
      var counts = data.peers || data.counts || [];
      var own = data.own_band;
      var bars = counts.map(function (n, i) {
        return i === own ? { value: n, itemStyle: { color: "#c0392b" } } : n;
      });
      var chart = echarts.init(dist);
      chart.setOption({
        tooltip: { trigger: "axis" },
        grid: { left: 40, right: 16, top: 16, bottom: 28 },
        xAxis: { type: "category", data: data.bands },
        yAxis: { type: "value", minInterval: 1 },
        series: [{ name: labels.peers || data.label, type: "bar", data: bars }]
      });
      charts.push(chart);
    }
    var trend = document.getElementById("appraisal-trend");
    if (trend && data.months) {
      trend.style.height = "260px";
      var line = echarts.init(trend);
      line.setOption({
        tooltip: { trigger: "axis" },
        legend: { top: 0 },
        grid: { left: 40, right: 16, top: 36, bottom: 28 },
        xAxis: { type: "category", data: data.months },
        yAxis: { type: "value", min: 0, max: 100 },
        series: [
          { name: labels.score, type: "line", connectNulls: false, data: data.score },
          { name: labels.peer_median, type: "line", connectNulls: false, data: data.peer_median,
            lineStyle: { type: "dashed" } }
        ]
      });
      charts.push(line);
    }
    window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", draw); } else { draw(); }
})();
