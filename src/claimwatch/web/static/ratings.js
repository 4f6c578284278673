/* The rating pages (/ratings…; Apache ECharts, vendored): a run's score distribution, each unit's breakdown
   (the contribution of every indicator, and the deductions) in the drawer or on the insurer's page, the
   insurer's score by quarter; the ranking table sorts by any column. Data comes from the pages' JSON blocks. */
(function () {
  "use strict";
  var charts = [];

  function json(el) { return JSON.parse((el && el.textContent) || "{}"); }

  function distribution() {
    var box = document.getElementById("distribution-chart");
    var data = json(document.getElementById("run-data"));
    if (!box || !data.bins) { return; }
    var chart = window.echarts.init(box, null, { renderer: "canvas" });
    chart.setOption({
      animation: false,
      grid: { left: 36, right: 12, top: 16, bottom: 40 },
      tooltip: { trigger: "axis" },
      xAxis: { type: "category", data: data.bins, name: data.labels.score, nameLocation: "middle", nameGap: 26,
               axisLabel: { fontSize: 10, interval: 1 } },
      yAxis: { type: "value", minInterval: 1, axisLabel: { fontSize: 10 } },
      series: [{ name: data.labels.units, type: "bar", data: data.counts, itemStyle: { color: "#1d4e89" } }]
    });
    charts.push(chart);
  }

  function breakdown(box) {
    if (box.getAttribute("data-drawn")) { return; }
    var data = json(box.parentNode.querySelector("script.breakdown-data"));
    if (!data.names) { return; }
    box.setAttribute("data-drawn", "1");
    var names = data.names.slice();
    var values = data.contributions.map(function (v) { return v === null ? 0 : Math.round(v * 100) / 100; });
    var weights = data.weights.map(function (w) { return w === null ? 0 : w; });
    if (data.deduction) { names.push(data.labels.deductions); values.push(data.deduction); weights.push(null); }
    box.style.height = Math.max(180, 34 * names.length + 40) + "px";
    var chart = window.echarts.init(box, null, { renderer: "canvas" });
    chart.setOption({
      animation: false,
      grid: { left: 8, right: 48, top: 24, bottom: 8, containLabel: true },
      legend: { top: 0, textStyle: { fontSize: 11 } },
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      xAxis: { type: "value", axisLabel: { fontSize: 10 } },
      yAxis: { type: "category", data: names, inverse: true, axisLabel: { fontSize: 11, width: 160, overflow: "truncate" } },
      series: [
        { name: data.labels.weight, type: "bar", data: weights, barGap: "-100%", silent: true,
          itemStyle: { color: "#e9eef5" } },
        { name: data.labels.contribution, type: "bar",
          data: values.map(function (v) { return { value: v, itemStyle: { color: v < 0 ? "#e03131" : "#1d4e89" } }; }),
          label: { show: true, position: "right", fontSize: 10 } }
      ]
    });
    charts.push(chart);
  }

  function history() {
    var box = document.getElementById("history-chart");
    var data = json(document.getElementById("history-data"));
    if (!box || !data.periods) { return; }
    var chart = window.echarts.init(box, null, { renderer: "canvas" });
    chart.setOption({
      animation: false,
      grid: { left: 36, right: 16, top: 16, bottom: 28 },
      tooltip: { trigger: "axis" },
      xAxis: { type: "category", data: data.periods, axisLabel: { fontSize: 10 } },
      yAxis: { type: "value", min: 0, max: 100, axisLabel: { fontSize: 10 } },
      series: [{ name: data.label, type: "line", data: data.scores, itemStyle: { color: "#1d4e89" },
                 label: { show: true, fontSize: 10 } }]
    });
    charts.push(chart);
  }

  function drawAll(root) {
    if (typeof window.echarts === "undefined") { return; }
    Array.prototype.forEach.call(root.querySelectorAll(".breakdown-chart"), breakdown);
  }

  function sortable(table) {
    var heads = table.querySelectorAll("thead th");
    heads.forEach(function (th, index) {
      var button = th.querySelector("button.sort");
      if (!button) { return; }
      button.addEventListener("click", function () {
        var descending = th.getAttribute("aria-sort") !== "descending";
        heads.forEach(function (other) { if (other.hasAttribute("aria-sort")) { other.setAttribute("aria-sort", "none"); } });
        th.setAttribute("aria-sort", descending ? "descending" : "ascending");
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = a.cells[index].getAttribute("data-sort") || "";
          var y = b.cells[index].getAttribute("data-sort") || "";
          if (x === "" || y === "") { return (x === "") - (y === ""); }  // no data last, both ways
          var nx = parseFloat(x), ny = parseFloat(y);
          var cmp = (!isNaN(nx) && !isNaN(ny)) ? nx - ny : x.localeCompare(y);
          return descending ? -cmp : cmp;
        });
        rows.forEach(function (row) { body.appendChild(row); });
      });
    });
  }

  function drawer() {
    var aside = document.getElementById("drawer");
    if (!aside) { return; }
    document.getElementById("drawer-close").addEventListener("click", function () { aside.hidden = true; });
    document.addEventListener("keydown", function (event) { if (event.key === "Escape") { aside.hidden = true; } });
    document.body.addEventListener("htmx:afterSwap", function (event) {
      if (event.detail.target && event.detail.target.id === "drawer-body") {
        aside.hidden = false;
        drawAll(aside);
        var close = document.getElementById("drawer-close");
        if (close) { close.focus(); }
      }
    });
  }

  function init() {
    var table = document.getElementById("ranking-table");
    if (table) { sortable(table); }
    drawer();
    if (typeof window.echarts === "undefined") { return; }
    distribution();
    history();
    drawAll(document);
    window.claimwatchCharts = charts;
    window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
