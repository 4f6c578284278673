/* A risk model card's calibration plot (Apache ECharts, vendored): per tenth of predicted probability, the
   observed rate of fraud confirmed on the hold-out against the mean predicted, with the diagonal of perfect
   calibration. Data comes from the page's JSON block (#calibration-data); the table below it has the same. */
(function () {
  "use strict";
  function draw() {
    var box = document.getElementById("calibration-chart");
    var block = document.getElementById("calibration-data");
    if (!box || !block || typeof echarts === "undefined") { return; }
    var data = JSON.parse(block.textContent || "{}");
    var points = [];
    for (var i = 0; i < (data.predicted || []).length; i++) {
      if (data.predicted[i] !== null && data.observed[i] !== null) {
        points.push([data.predicted[i], data.observed[i], data.counts[i]]);
      }
    }
    box.style.height = "320px";
    var chart = echarts.init(box);
    chart.setOption({
      tooltip: { trigger: "item", formatter: function (p) {
        if (!p.value || p.value.length < 3) { return p.seriesName; }
        return data.labels.predicted + " " + p.value[0].toFixed(3) + "<br>" + data.labels.observed + " " +
          p.value[1].toFixed(3) + "<br>" + data.labels.count + " " + p.value[2];
      } },
      legend: { top: 0 },
      grid: { left: 48, right: 16, top: 36, bottom: 36 },
      xAxis: { type: "value", min: 0, max: 1, name: data.labels.predicted, nameLocation: "middle", nameGap: 24 },
      yAxis: { type: "value", min: 0, max: 1, name: data.labels.observed },
      series: [
        { name: data.labels.ideal, type: "line", data: [[0, 0], [1, 1]], symbol: "none", lineStyle: { type: "dashed" } },
        { name: data.labels.observed, type: "line", data: points, symbolSize: function (v) {
          return Math.max(6, Math.min(24, Math.sqrt(v[2] || 0))); } }
      ]
    });
    window.addEventListener("resize", function () { chart.resize(); });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", draw); } else { draw(); }
})();
