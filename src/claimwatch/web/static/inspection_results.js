/* A plan's results: the error rate of each stratum (bars) with its interval (error bars), the population
   estimate (a line) and the error allowance of the accuracy target (a dashed line). Apache ECharts, vendored;
   data from the page's JSON block. */
(function () {
  "use strict";
  function start() {
    var block = document.getElementById("results-data");
    var el = document.getElementById("strata-chart");
    if (!block || !el || !window.echarts) { return; }
    var data = JSON.parse(block.textContent || "{}");
    if (!data.strata || !data.strata.length) { return; }
    var labels = data.labels;
    var names = data.strata.map(function (s) { return s.label; });
    var intervals = data.strata.map(function (s, i) { return [i, s.low, s.high]; });
    var marks = [];
    if (data.estimate && data.estimate.rate !== null) {
      marks.push({ yAxis: data.estimate.rate, name: labels.estimate,
                   lineStyle: { color: "#1d4e89", type: "solid" },
                   label: { formatter: labels.estimate + " " + data.estimate.rate + "%", fontSize: 10,
                            position: "insideStartTop" } });
    }
    if (data.target !== null && data.target !== undefined) {
      marks.push({ yAxis: data.target, name: labels.limit, lineStyle: { color: "#c92a2a", type: "dashed" },
                   label: { formatter: labels.limit + " " + data.target + "%", fontSize: 10, position: "insideEndTop" } });
    }
    var highest = data.strata.reduce(function (m, s) { return s.high !== null && s.high > m ? s.high : m; }, data.target || 0);
    var step = highest > 40 ? 20 : 10;
    var top = Math.min(100, Math.max(10, Math.ceil(highest / step) * step));
    var chart = window.echarts.init(el, null, { renderer: "canvas" });
    chart.setOption({
      animation: false,
      grid: { left: 48, right: 24, top: 24, bottom: 48, containLabel: true },
      tooltip: {
        trigger: "axis",
        formatter: function (items) {
          var s = data.strata[items[0].dataIndex];
          if (s.rate === null) { return s.label + "<br>" + labels.inspected + ": 0"; }
          return s.label + "<br>" + labels.rate + ": " + s.rate + "%<br>" + labels.interval + ": " + s.low + "% – " +
            s.high + "%<br>" + labels.inspected + ": " + s.inspected + " · " + labels.errors + ": " + s.errors;
        }
      },
      xAxis: { type: "category", data: names, axisLabel: { fontSize: 10, interval: 0, rotate: names.length > 6 ? 30 : 0 } },
      // Up to the highest interval bound (never cut off), in steps of 10 % (20 % above 40 %).
      yAxis: { type: "value", min: 0, max: top, axisLabel: { fontSize: 10, formatter: "{value}%" } },
      series: [
        { name: labels.rate, type: "bar", data: data.strata.map(function (s) { return s.rate; }),
          itemStyle: { color: "#74a9cf" }, barMaxWidth: 36, markLine: { symbol: "none", silent: true, data: marks } },
        { name: labels.interval, type: "custom", data: intervals, z: 10,
          renderItem: function (params, api) {
            if (api.value(1) === null || isNaN(api.value(1))) { return null; }
            var low = api.coord([api.value(0), api.value(1)]);
            var high = api.coord([api.value(0), api.value(2)]);
            var half = Math.min(api.size([1, 0])[0] * 0.15, 8);
            var style = { stroke: "#212529", lineWidth: 1.5 };
            return { type: "group", children: [
              { type: "line", shape: { x1: low[0], y1: low[1], x2: high[0], y2: high[1] }, style: style },
              { type: "line", shape: { x1: low[0] - half, y1: low[1], x2: low[0] + half, y2: low[1] }, style: style },
              { type: "line", shape: { x1: high[0] - half, y1: high[1], x2: high[0] + half, y2: high[1] }, style: style }
            ] };
          } }
      ]
    });
    window.addEventListener("resize", function () { chart.resize(); });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
