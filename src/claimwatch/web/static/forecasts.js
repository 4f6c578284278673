/* The forecast page's charts (Apache ECharts, vendored): actual volumes, the forecast with its band and the
   back-test; staff needed against the roster, days needing peak mode in red. Data from #forecast-data. */
(function () {
  "use strict";
  function draw() {
    var block = document.getElementById("forecast-data");
    if (!block || typeof echarts === "undefined") { return; }
    var data = JSON.parse(block.textContent || "null");
    if (!data) { return; }
    var L = data.labels;
    var box = document.getElementById("forecast-chart");
    var charts = [];
    if (box) {
      box.style.height = "320px";
      var days = data.history.days.concat(data.forecast.days);
      var pad = function (values, before) {
        var out = [];
        for (var i = 0; i < before; i++) { out.push(null); }
        return out.concat(values, new Array(days.length - before - values.length).fill(null));
      };
      var backStart = data.history.days.indexOf(data.backtest.days[0]);
      var lower = pad(data.forecast.lower, data.history.days.length);
      var width = pad(data.forecast.upper.map(function (u, i) { return u - data.forecast.lower[i]; }), data.history.days.length);
      var chart = echarts.init(box);
      chart.setOption({
        tooltip: { trigger: "axis" },
        legend: { top: 0, data: [L.history, L.forecast, L.band, L.backtest] },
        grid: { left: 44, right: 16, top: 36, bottom: 28 },
        xAxis: { type: "category", data: days },
        yAxis: { type: "value", min: 0 },
        series: [
          { name: L.history, type: "line", showSymbol: false, data: pad(data.history.values, 0) },
          { name: L.band, type: "line", stack: "band", showSymbol: false, lineStyle: { opacity: 0 }, data: lower },
          { name: L.band, type: "line", stack: "band", showSymbol: false, lineStyle: { opacity: 0 },
            areaStyle: { opacity: 0.2 }, data: width },
          { name: L.forecast, type: "line", showSymbol: false, data: pad(data.forecast.mean, data.history.days.length) },
          { name: L.backtest, type: "line", showSymbol: false, lineStyle: { type: "dashed" },
            data: backStart >= 0 ? pad(data.backtest.forecast, backStart) : [] }
        ]
      });
      charts.push(chart);
    }
    var staffBox = document.getElementById("staffing-chart");
    if (staffBox && data.staffing) {
      staffBox.style.height = "260px";
      var staff = echarts.init(staffBox);
      staff.setOption({
        tooltip: { trigger: "axis" },
        legend: { top: 0 },
        grid: { left: 40, right: 16, top: 36, bottom: 28 },
        xAxis: { type: "category", data: data.staffing.days },
        yAxis: { type: "value", min: 0 },
        series: [
          { name: L.needed, type: "bar", data: data.staffing.needed.map(function (v, i) {
              return data.staffing.peak[i] ? { value: v, itemStyle: { color: "#c23531" } } : v; }) },
          { name: L.rostered, type: "bar", data: data.staffing.rostered }
        ]
      });
      charts.push(staff);
    }
    window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", draw); } else { draw(); }
})();
