/* Admin app behaviour: confirmations, select-all, single submission, charts. No inline scripts (CSP). */
(function () {
  "use strict";

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var button = event.submitter;
    var message = (button && button.getAttribute("data-confirm")) || form.getAttribute("data-confirm");
    if (message && !window.confirm(message)) {
      event.preventDefault();
      return;
    }
    if (form.hasAttribute("data-once")) {
      window.setTimeout(function () {
        form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = true; });
      }, 0);
    }
  });

  document.addEventListener("change", function (event) {
    var box = event.target;
    var name = box.getAttribute && box.getAttribute("data-select-all");
    if (!name) return;
    var form = box.form || document;
    form.querySelectorAll("input[type=checkbox][name='" + name + "']").forEach(function (c) { c.checked = box.checked; });
  });

  function drawCharts() {
    var holder = document.getElementById("chart-data");
    if (!holder || typeof window.Chart === "undefined") return;
    var data = JSON.parse(holder.textContent);
    var Chart = window.Chart;
    Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
    Chart.defaults.font.size = 13;
    var colors = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                  "#bcbd22", "#17becf", "#0b3d6e", "#f2b8b5", "#a8dcb9", "#f0d48a", "#b6d3f2"];
    var base = { responsive: true, maintainAspectRatio: false, animation: false };
    var shortLabel = function (value) {
      var label = String(this.getLabelForValue(value));
      var max = window.innerWidth < 600 ? 18 : 48;
      return label.length > max ? label.slice(0, max - 1) + "…" : label;
    };
    var makers = {
      trend: function (d) {
        return { type: "bar", data: { labels: d.labels, datasets: [{ label: "จำนวนเรื่อง", data: d.values, backgroundColor: colors[0] }] },
                 options: Object.assign({}, base, { plugins: { legend: { display: false } }, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } }) };
      },
      category: function (d) {
        return { type: "bar", data: { labels: d.labels, datasets: [{ label: "จำนวนเรื่อง", data: d.values, backgroundColor: colors }] },
                 options: Object.assign({}, base, { indexAxis: "y", plugins: { legend: { display: false } },
                   scales: { x: { beginAtZero: true, ticks: { precision: 0 } }, y: { ticks: { callback: shortLabel } } } }) };
      },
      channel: function (d) {
        return { type: "doughnut", data: { labels: d.labels, datasets: [{ data: d.values, backgroundColor: colors }] }, options: base };
      },
      intent: function (d) {
        return { type: "doughnut", data: { labels: d.labels, datasets: [{ data: d.values, backgroundColor: colors.slice(3) }] }, options: base };
      },
      fiscal: function (d) {
        return { type: "bar", data: { labels: d.labels, datasets: [{ label: "จำนวนเรื่อง", data: d.values, backgroundColor: colors[10] }] },
                 options: Object.assign({}, base, { plugins: { legend: { display: false } }, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } }) };
      },
      sla: function (d) {
        return { type: "bar", data: { labels: d.labels, datasets: [
                   { label: d.names.met, data: d.met, backgroundColor: "#2ca02c" },
                   { label: d.names.breached, data: d.breached, backgroundColor: "#d62728" },
                   { label: d.names.pending, data: d.pending, backgroundColor: "#f0d48a" }] },
                 options: Object.assign({}, base, { scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } } }) };
      }
    };
    document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      var key = canvas.getAttribute("data-chart");
      if (makers[key] && data[key]) {
        canvas.chart = new Chart(canvas, makers[key](data[key]));
      }
    });
    document.body.setAttribute("data-charts-ready", "1");
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", drawCharts);
  } else {
    drawCharts();
  }
})();
