/* Improvement actions: "add a step" on the raise form (copies the last empty row; without script the form has
   five rows, enough to start with), and the effectiveness check's chart on the action page: the KPI's monthly
   values before (grey) and after (blue) the day Do ended, the two windows shaded, the target as a dashed line.
   Apache ECharts, vendored; data from the page's JSON block. */
(function () {
  "use strict";

  function addStepRows() {
    var button = document.getElementById("add-step");
    var body = document.querySelector("#step-rows tbody");
    if (!button || !body) { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      var rows = body.querySelectorAll("tr.step-row");
      if (rows.length >= 30) { button.hidden = true; return; }
      var next = rows.length + 1;
      var row = rows[rows.length - 1].cloneNode(true);
      row.classList.remove("has-error");
      row.querySelector("td.num").textContent = String(next);
      row.querySelectorAll(".field-error").forEach(function (el) { el.remove(); });
      row.querySelectorAll("input, select").forEach(function (el) {
        el.name = el.name.replace(/_\d+$/, "_" + next);
        el.value = "";
        el.removeAttribute("aria-invalid");
        el.removeAttribute("aria-describedby");
      });
      body.appendChild(row);
      row.querySelector("input[type=text]").focus();
    });
  }

  function checkChart() {
    var block = document.getElementById("check-data");
    var el = document.getElementById("check-chart");
    if (!block || !el || !window.echarts) { return; }
    var data = JSON.parse(block.textContent || "{}");
    if (!data.months || !data.months.length) { return; }
    var labels = data.labels;
    var unit = data.unit || "";
    function shade(range, color, name) {
      return range && range.length === 2 ? [[{ xAxis: range[0], name: name, itemStyle: { color: color } }, { xAxis: range[1] }]] : [];
    }
    var target = data.target === null || data.target === undefined ? [] : [{
      yAxis: data.target, name: labels.target, lineStyle: { color: "#c92a2a", type: "dashed" },
      label: { formatter: labels.target + " " + data.target + unit, fontSize: 10, position: "insideEndTop" }
    }];
    var chart = window.echarts.init(el, null, { renderer: "canvas" });
    chart.setOption({
      animation: false,
      grid: { left: 48, right: 24, top: 36, bottom: 36, containLabel: true },
      legend: { top: 0, data: [labels.before, labels.after] },
      tooltip: { trigger: "axis", valueFormatter: function (v) { return v === null || v === undefined ? "—" : (Math.round(v * 100) / 100) + unit; } },
      xAxis: { type: "category", data: data.months, axisLabel: { fontSize: 10 } },
      yAxis: { type: "value", scale: true, axisLabel: { fontSize: 10, formatter: "{value}" + unit } },
      series: [
        { name: labels.before, type: "line", data: data.before, connectNulls: false, symbolSize: 7,
          itemStyle: { color: "#868e96" }, lineStyle: { color: "#868e96" },
          markArea: { silent: true, data: shade(data.before_range, "rgba(134, 142, 150, 0.12)", labels.before),
                      label: { show: false } },
          markLine: { symbol: "none", silent: true, data: target } },
        { name: labels.after, type: "line", data: data.after, connectNulls: false, symbolSize: 7,
          itemStyle: { color: "#1d4e89" }, lineStyle: { color: "#1d4e89", width: 2 },
          markArea: { silent: true, data: shade(data.after_range, "rgba(29, 78, 137, 0.10)", labels.after),
                      label: { show: false } } }
      ]
    });
    window.addEventListener("resize", function () { chart.resize(); });
  }

  function start() { addStepRows(); checkChart(); }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
