/* The quality dashboard's charts (Apache ECharts, vendored): one small trend chart per KPI, with its
   labelled target, and the open claims by worst SLA light. Data comes from the page's JSON block, never a
   CDN. A point that counts cases opens the claim list of those cases (its URL is in the data). The drill
   table sorts by any column. */
(function () {
  "use strict";
  function go(url) { if (url) { window.location.href = url; } }

  function trendChart(data, kpi, labels, charts) {
    var grid = document.getElementById("trend-charts");
    var box = document.createElement("figure");
    box.className = "chart-box";
    box.setAttribute("data-kpi", kpi.code);
    var caption = document.createElement("figcaption");
    caption.textContent = kpi.name + (kpi.unit === "%" ? " (%)" : "");
    if (kpi.target === null || kpi.target === undefined) {
      var none = document.createElement("span");
      none.className = "no-target";
      none.textContent = " · " + labels.no_target;
      caption.appendChild(none);
    }
    box.appendChild(caption);
    grid.appendChild(box);
    var hasData = (kpi.values || []).some(function (v) { return v !== null && v !== undefined; });
    if (!hasData) {
      // An empty chart says so, instead of drawing bare axes.
      var empty = document.createElement("p");
      empty.className = "chart-empty";
      empty.id = "trend-" + kpi.code;
      empty.textContent = labels.empty;
      box.appendChild(empty);
      return;
    }
    var el = document.createElement("div");
    el.className = "chart";
    el.id = "trend-" + kpi.code;
    box.appendChild(el);
    var urls = kpi.urls || [];
    var points = kpi.values.map(function (v, i) {
      return { value: v, url: urls[i] || null, symbolSize: urls[i] ? 8 : 6 };
    });
    var series = [{ name: labels.actual, type: "line", data: points, connectNulls: false,
                    itemStyle: { color: "#1d4e89" }, cursor: urls.length ? "pointer" : "default" }];
    if (kpi.target !== null && kpi.target !== undefined) {
      series.push({ name: labels.target, type: "line", data: data.periods.map(function () { return kpi.target; }),
                    symbol: "none", silent: true, lineStyle: { type: "dashed", color: "#2f9e44" },
                    itemStyle: { color: "#2f9e44" },
                    endLabel: { show: true, formatter: labels.target + " " + kpi.target, fontSize: 10,
                                color: "#2f9e44" } });
    }
    // Rates on 0–100 %; other units from zero, so a small change does not look like a cliff.
    var yAxis = kpi.unit === "%" ? { type: "value", min: 0, max: 100, axisLabel: { fontSize: 10, formatter: "{value}%" } }
                                 : { type: "value", min: 0, axisLabel: { fontSize: 10 } };
    var chart = window.echarts.init(el, null, { renderer: "canvas" });
    chart.setOption({
      animation: false,
      grid: { left: 44, right: 64, top: 16, bottom: 28 },
      tooltip: { trigger: "axis" },
      xAxis: { type: "category", data: data.periods, axisLabel: { fontSize: 10 } },
      yAxis: yAxis,
      series: series
    });
    chart.on("click", function (event) { if (event.data && event.data.url) { go(event.data.url); } });
    charts.push(chart);
  }

  function lightsChart(data, labels, charts) {
    var lightsEl = document.getElementById("lights-chart");
    if (!lightsEl || !data.lights) { return; }
    var urls = data.light_urls || {};
    var lights = window.echarts.init(lightsEl, null, { renderer: "canvas" });
    lights.setOption({
      animation: false,
      tooltip: { trigger: "item" },
      series: [{
        name: labels.open_claims, type: "pie", radius: ["45%", "75%"], cursor: "pointer",
        label: { formatter: "{b}: {c}" },
        data: ["green", "yellow", "red"].map(function (light) {
          var colour = { green: "#2f9e44", yellow: "#f08c00", red: "#e03131" }[light];
          return { name: labels[light], value: data.lights[light] || 0, url: urls[light] || null,
                   itemStyle: { color: colour } };
        })
      }]
    });
    lights.on("click", function (event) { if (event.data && event.data.url) { go(event.data.url); } });
    charts.push(lights);
  }

  function sortable(table) {
    var heads = table.querySelectorAll("thead th");
    heads.forEach(function (th, index) {
      var button = th.querySelector("button.sort");
      if (!button) { return; }
      button.addEventListener("click", function () {
        var descending = th.getAttribute("aria-sort") !== "descending";
        heads.forEach(function (other) { other.setAttribute("aria-sort", "none"); });
        th.setAttribute("aria-sort", descending ? "descending" : "ascending");
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = a.cells[index].getAttribute("data-sort") || "";
          var y = b.cells[index].getAttribute("data-sort") || "";
          var nx = parseFloat(x), ny = parseFloat(y);
          var cmp;
          if (x === "" || y === "") { cmp = (x === "") - (y === ""); return cmp; }  // no data last, both ways
          cmp = (!isNaN(nx) && !isNaN(ny)) ? nx - ny : x.localeCompare(y);
          return descending ? -cmp : cmp;
        });
        rows.forEach(function (row) { body.appendChild(row); });
      });
    });
  }

  function init() {
    var table = document.getElementById("drill-table");
    if (table) { sortable(table); }
    var block = document.getElementById("dashboard-data");
    if (!block || typeof window.echarts === "undefined") { return; }
    var data = JSON.parse(block.textContent || "{}");
    var labels = data.labels || {};
    var charts = [];
    (data.trend || []).forEach(function (kpi) { trendChart(data, kpi, labels, charts); });
    lightsChart(data, labels, charts);
    window.claimwatchCharts = charts;
    window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
