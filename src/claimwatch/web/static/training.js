/* The training coverage chart (Apache ECharts, vendored): coverage % per org unit against the target line.
   Data comes from the page's JSON block (#training-data). */
(function () {
  "use strict";
  function draw() {
    var box = document.getElementById("training-chart");
    var block = document.getElementById("training-data");
    if (!box || !block || typeof echarts === "undefined") { return; }
    var data = JSON.parse(block.textContent || "{}");
    box.style.height = Math.max(160, 36 * data.names.length + 60) + "px";
    var chart = echarts.init(box);
    var targetName = data.labels.target + " " + data.target + "%";
    var targetColour = "#1c7ed6";
    chart.setOption({
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      /* The target is named in the legend above the chart: a label on the line itself would sit on the
         x axis's own "100%". */
      legend: { top: 0, data: [targetName], selectedMode: false },
      grid: { left: 8, right: 40, top: 32, bottom: 24, containLabel: true },
      xAxis: { type: "value", min: 0, max: 100, axisLabel: { formatter: "{value}%" } },
      yAxis: { type: "category", inverse: true, data: data.names },
      series: [{
        name: data.labels.coverage, type: "bar",
        data: data.coverage.map(function (v) {
          return { value: v, itemStyle: { color: v !== null && v < data.target ? "#e03131" : "#2f9e44" } };
        }),
        label: { show: true, position: "right", formatter: "{c}%" },
        markLine: { symbol: "none", silent: true, data: [{ xAxis: data.target, name: targetName }],
                    lineStyle: { type: "dashed", color: targetColour }, label: { show: false } }
      }, {
        name: targetName, type: "line", data: [], symbol: "none",
        lineStyle: { type: "dashed", color: targetColour }, itemStyle: { color: targetColour }
      }]
    });
    window.addEventListener("resize", function () { chart.resize(); });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", draw); } else { draw(); }
})();
