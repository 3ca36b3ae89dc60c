/* Draws the dashboard's charts from the JSON options the page carries (no inline script).
   Clicking a bar, slice or point opens the list behind it. Without ECharts the tables beside
   the charts still show every figure. */
(function () {
  "use strict";
  if (typeof window.echarts === "undefined") {
    document.querySelectorAll(".chart").forEach(function (el) { el.hidden = true; });
    return;
  }
  var charts = [];
  document.querySelectorAll(".chart[data-chart]").forEach(function (el) {
    var source = document.getElementById("chart-" + el.dataset.chart);
    if (!source) { el.hidden = true; return; }
    var chart = window.echarts.init(el, null, { renderer: "svg" });
    chart.setOption(JSON.parse(source.textContent));
    chart.on("click", function (params) {
      if (params.data && params.data.url) { window.location.href = params.data.url; }
    });
    charts.push(chart);
  });
  window.addEventListener("resize", function () {
    charts.forEach(function (chart) { chart.resize(); });
  });
  var picker = document.getElementById("quarter-picker");
  if (picker) {
    picker.addEventListener("change", function () { picker.form.submit(); });
  }
})();
