/* Benchmarks between insurers (claimwatch.supervision): the box plot, the funnel plot (value against volume with
   the 95 % and 99.8 % limits around the industry), each insurer's trend with the median, the sortable ranking, and
   on an insurer's profile its position per indicator and its rating history. Data comes from the page's JSON
   block (Apache ECharts, vendored). */
(function () {
  "use strict";
  var PALETTE = ["#1d4e89", "#0b7285", "#e8590c", "#5f3dc4", "#2b8a3e", "#c2255c", "#5c940d", "#1098ad", "#862e9c",
                 "#d9480f", "#364fc7", "#087f5b"];
  var FUNNEL_COLOURS = { within: "#1d4e89", none: "#1d4e89" };

  function chart(id) {
    var el = document.getElementById(id);
    return el && window.echarts ? window.echarts.init(el, null, { renderer: "canvas" }) : null;
  }
  function go(url) { if (url) { window.location.href = url; } }
  function unitSuffix(kpi) { return kpi.unit === "%" ? "%" : ""; }
  function pointColour(p) {
    if (p.funnel === "beyond_998" || p.funnel === "beyond_95") { return p.direction === "worse" ? "#e03131" : "#2f9e44"; }
    return FUNNEL_COLOURS[p.funnel] || "#1d4e89";
  }
  function empty(id, text) {
    var el = document.getElementById(id);
    if (el) { el.classList.add("chart-empty"); el.textContent = text; }
  }

  function boxChart(data, charts) {
    if (!data.box) { empty("box-chart", data.labels.empty); return; }
    var c = chart("box-chart");
    if (!c) { return; }
    var marks = [{ name: data.labels.industry, yAxis: data.industry, lineStyle: { color: "#e8590c", type: "dashed" },
                   label: { formatter: data.labels.industry + " {c}" } }];
    if (data.kpi.target !== null && data.kpi.target !== undefined) {
      marks.push({ name: "target", yAxis: data.kpi.target, lineStyle: { color: "#2f9e44", type: "dotted" },
                   label: { formatter: "{c}" } });
    }
    var n = data.insurers.length;
    c.setOption({
      animation: false,
      grid: { left: 56, right: 90, top: 20, bottom: 30 },
      tooltip: { trigger: "item" },
      xAxis: { type: "category", data: [data.kpi.name], axisLabel: { fontSize: 11 } },
      yAxis: { type: "value", scale: true, axisLabel: { formatter: "{value}" + unitSuffix(data.kpi) } },
      series: [
        { name: data.labels.insurers, type: "boxplot", data: [data.box], itemStyle: { color: "#e7f5ff", borderColor: "#1d4e89" },
          boxWidth: ["30%", "45%"], markLine: { symbol: "none", data: marks, silent: true } },
        { name: data.labels.insurers, type: "scatter", cursor: "pointer", symbolSize: 10,
          data: data.insurers.map(function (p, i) {
            return { value: [0, p.value], name: p.code, url: p.url, itemStyle: { color: pointColour(p) },
                     label: { show: true, position: i % 2 ? "left" : "right", formatter: p.code, fontSize: 10 },
                     symbolOffset: [n > 1 ? (i / (n - 1) - 0.5) * 40 : 0, 0] };
          }),
          tooltip: { formatter: function (p) { return p.name + ": " + p.value[1] + unitSuffix(data.kpi); } } }
      ]
    });
    c.on("click", function (e) { if (e.data && e.data.url) { go(e.data.url); } });
    charts.push(c);
  }

  function funnelChart(data, charts) {
    if (!data.funnel) { empty("funnel-chart", data.labels.no_funnel); return; }
    if (!data.insurers.length) { empty("funnel-chart", data.labels.empty); return; }
    var c = chart("funnel-chart");
    if (!c) { return; }
    var volumes = data.insurers.map(function (p) { return p.volume; }).filter(function (v) { return v > 0; });
    var wide = volumes.length && Math.max.apply(null, volumes) / Math.min.apply(null, volumes) > 20;
    function line(index, name, type) {
      return { name: name, type: "line", showSymbol: false, silent: true, data: data.curve.map(function (p) { return [p[0], p[index]]; }),
               lineStyle: { type: type, width: 1, color: index > 2 ? "#e03131" : "#f08c00" }, itemStyle: { color: index > 2 ? "#e03131" : "#f08c00" } };
    }
    var series = [];
    if (data.curve.length) {
      series.push(line(1, data.labels.limit95, "dashed"), line(2, data.labels.limit95, "dashed"),
                  line(3, data.labels.limit998, "dotted"), line(4, data.labels.limit998, "dotted"));
    }
    series.push({
      name: data.labels.insurers, type: "scatter", symbolSize: 11, cursor: "pointer",
      data: data.insurers.map(function (p) {
        return { value: [p.volume, p.value], name: p.code, url: p.url, itemStyle: { color: pointColour(p) },
                 label: { show: true, position: "top", formatter: p.code, fontSize: 10 } };
      }),
      markLine: data.industry === null ? undefined : { symbol: "none", silent: true,
        data: [{ yAxis: data.industry, name: data.labels.industry }],
        lineStyle: { color: "#495057" }, label: { formatter: data.labels.industry + " {c}" } },
      tooltip: { formatter: function (p) { return p.name + ": " + p.value[1] + unitSuffix(data.kpi) + " · n = " + p.value[0]; } }
    });
    c.setOption({
      animation: false,
      legend: { top: 0, data: [data.labels.limit95, data.labels.limit998], textStyle: { fontSize: 10 } },
      grid: { left: 56, right: 90, top: 28, bottom: 40 },
      tooltip: { trigger: "item" },
      xAxis: { type: wide ? "log" : "value", name: data.labels.volume, nameLocation: "middle", nameGap: 26, scale: true },
      yAxis: { type: "value", scale: true, axisLabel: { formatter: "{value}" + unitSuffix(data.kpi) } },
      series: series
    });
    c.on("click", function (e) { if (e.data && e.data.url) { go(e.data.url); } });
    charts.push(c);
  }

  function trendChart(data, charts) {
    var c = chart("trend-chart");
    if (!c) { return; }
    var t = data.trend;
    var series = t.series.map(function (s, i) {
      return { name: s.code, type: "line", data: s.values, connectNulls: false, symbolSize: 4,
               lineStyle: { width: 1.5 }, itemStyle: { color: PALETTE[i % PALETTE.length] } };
    });
    series.push({ name: data.labels.median, type: "line", data: t.median, symbol: "none",
                  lineStyle: { width: 3, type: "dashed", color: "#212529" }, itemStyle: { color: "#212529" } });
    series.push({ name: data.labels.industry, type: "line", data: t.industry, symbol: "none",
                  lineStyle: { width: 2, type: "dotted", color: "#e8590c" }, itemStyle: { color: "#e8590c" } });
    c.setOption({
      animation: false,
      legend: { type: "scroll", top: 0 },
      grid: { left: 56, right: 24, top: 36, bottom: 30 },
      tooltip: { trigger: "axis" },
      xAxis: { type: "category", data: t.periods },
      yAxis: { type: "value", scale: true, axisLabel: { formatter: "{value}" + unitSuffix(data.kpi) } },
      series: series
    });
    charts.push(c);
  }

  function sortable(table) {
    var heads = Array.prototype.slice.call(table.querySelectorAll("thead th"));
    heads.forEach(function (th, index) {
      var button = th.querySelector("button.sort");
      if (!button) { return; }
      button.addEventListener("click", function () {
        var up = th.getAttribute("aria-sort") !== "ascending";
        heads.forEach(function (h) { h.setAttribute("aria-sort", "none"); });
        th.setAttribute("aria-sort", up ? "ascending" : "descending");
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = a.cells[index].getAttribute("data-sort") || "", y = b.cells[index].getAttribute("data-sort") || "";
          if (x === "" || y === "") { return (x === "") - (y === ""); }  // no data last, either way
          var nx = Number(x), ny = Number(y);
          var cmp = (!isNaN(nx) && !isNaN(ny)) ? nx - ny : x.localeCompare(y);
          return up ? cmp : -cmp;
        });
        rows.forEach(function (row) { body.appendChild(row); });
      });
    });
  }

  function positionChart(data, charts) {
    var c = chart("position-chart");
    if (!c) { return; }
    if (!data.kpis.length) { empty("position-chart", data.labels.empty); return; }
    var kpis = data.kpis.slice().reverse();
    c.setOption({
      animation: false,
      grid: { left: 200, right: 30, top: 10, bottom: 30 },
      tooltip: { trigger: "item", formatter: function (p) { return p.name + ": " + (p.value === null ? "—" : p.value); } },
      xAxis: { type: "value", min: 0, max: 100, name: data.labels.position, nameLocation: "middle", nameGap: 22 },
      yAxis: { type: "category", data: kpis.map(function (k) { return k.name; }), axisLabel: { fontSize: 11 } },
      series: [{ type: "bar", cursor: "pointer",
                 data: kpis.map(function (k) {
                   var v = k.position;
                   var colour = v === null ? "#adb5bd" : v >= 75 ? "#2f9e44" : v >= 50 ? "#1d4e89" : v >= 25 ? "#f08c00" : "#e03131";
                   return { value: v, url: k.url, itemStyle: { color: colour } };
                 }),
                 markLine: { symbol: "none", silent: true, data: [{ xAxis: 50, name: data.labels.median }],
                             lineStyle: { color: "#212529", type: "dashed" }, label: { formatter: data.labels.median } } }]
    });
    c.on("click", function (e) { if (e.data && e.data.url) { go(e.data.url); } });
    charts.push(c);
  }

  function ratingChart(data, charts) {
    var r = data.ratings;
    if (!r || !r.periods.length) { return; }
    var c = chart("rating-chart");
    if (!c) { return; }
    c.setOption({
      animation: false,
      grid: { left: 40, right: 20, top: 20, bottom: 24 },
      tooltip: { trigger: "axis" },
      xAxis: { type: "category", data: r.periods },
      yAxis: { type: "value", min: 0, max: 100 },
      series: [{ type: "line", data: r.scores.map(function (s, i) {
                   return { value: s, label: { show: true, formatter: r.grades[i], position: "top" } }; }),
                 itemStyle: { color: "#1d4e89" } }]
    });
    charts.push(c);
  }

  function init() {
    var charts = [];
    var table = document.getElementById("ranking-table");
    if (table) { sortable(table); }
    var block = document.getElementById("benchmark-data");
    if (block && window.echarts) {
      var data = JSON.parse(block.textContent || "{}");
      boxChart(data, charts);
      funnelChart(data, charts);
      trendChart(data, charts);
    }
    var profile = document.getElementById("profile-data");
    if (profile && window.echarts) {
      var pdata = JSON.parse(profile.textContent || "{}");
      positionChart(pdata, charts);
      ratingChart(pdata, charts);
    }
    window.claimwatchCharts = charts;
    window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
