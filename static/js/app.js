// LeadFlow page behaviour. Kept in this file (never inline) so a strict Content-Security-Policy works.
(function () {
  "use strict";

  // On a phone, panels marked data-collapse-narrow start closed so the results come first.
  function collapseOnNarrowScreens() {
    if (!window.matchMedia("(max-width: 900px)").matches) return;
    document.querySelectorAll("details[data-collapse-narrow]").forEach(function (panel) {
      panel.open = false;
    });
  }

  // A score breakdown opened in a table row closes when another opens or the user clicks elsewhere.
  function closeOtherBreakdowns(event) {
    document.querySelectorAll("details.score-details[open]").forEach(function (details) {
      if (!details.contains(event.target)) details.open = false;
    });
  }

  // Inbox bulk selection. The action bar shows itself (CSS :has) once a row is ticked; this keeps
  // the "select all" box and the count in step with the rows.
  function syncBulkSelection(form) {
    var rows = form.querySelectorAll("input[data-bulk-row]");
    var ticked = form.querySelectorAll("input[data-bulk-row]:checked").length;
    var all = form.querySelector("input[data-bulk-all]");
    if (all) {
      all.checked = rows.length > 0 && ticked === rows.length;
      all.indeterminate = ticked > 0 && ticked < rows.length;
    }
    form.querySelectorAll("[data-bulk-count]").forEach(function (count) {
      count.textContent = String(ticked);
    });
  }

  function syncAllBulkForms() {
    document.querySelectorAll("form.bulk-form").forEach(syncBulkSelection);
  }

  function onBulkChange(event) {
    var target = event.target;
    var form = target.closest ? target.closest("form.bulk-form") : null;
    if (!form) return;
    if (target.matches("input[data-bulk-all]")) {
      form.querySelectorAll("input[data-bulk-row]").forEach(function (row) {
        row.checked = target.checked;
      });
    }
    syncBulkSelection(form);
  }

  // Enter in a reason field presses that menu's own button (the form's default button does nothing,
  // so Enter can never qualify by accident); Escape closes the menu and returns to its button.
  function onBulkKeydown(event) {
    var target = event.target;
    var menu = target.closest ? target.closest("details.bulk-menu") : null;
    if (!menu) return;
    if (event.key === "Enter" && target.matches("input[type=text], input:not([type])")) {
      event.preventDefault();
      var button = menu.querySelector("[data-bulk-pop] button[type=submit]");
      if (button) button.click();
    } else if (event.key === "Escape" && menu.open) {
      menu.open = false;
      menu.querySelector("summary").focus();
    }
  }

  // One bulk menu open at a time; opening one puts the cursor in its first field.
  function onBulkMenuToggle(event) {
    var menu = event.target;
    if (!menu.matches || !menu.matches("details.bulk-menu") || !menu.open) return;
    document.querySelectorAll("details.bulk-menu[open]").forEach(function (other) {
      if (other !== menu) other.open = false;
    });
    var field = menu.querySelector("[data-bulk-pop] select, [data-bulk-pop] input");
    if (field) field.focus();
  }

  document.addEventListener("DOMContentLoaded", collapseOnNarrowScreens);
  document.addEventListener("DOMContentLoaded", syncAllBulkForms);
  document.addEventListener("htmx:afterSettle", syncAllBulkForms);
  document.addEventListener("click", closeOtherBreakdowns);
  document.addEventListener("change", onBulkChange);
  document.addEventListener("keydown", onBulkKeydown);
  document.addEventListener("toggle", onBulkMenuToggle, true);
})();

// Lead-definition editor: "Add a rule" copies the formset's empty row (kept in a <template>),
// numbers it and counts it in the formset's TOTAL_FORMS, then puts the cursor in it.
(function () {
  "use strict";

  function onFormsetAdd(event) {
    var button = event.target.closest ? event.target.closest("[data-formset-add]") : null;
    if (!button) return;
    var prefix = button.getAttribute("data-formset-add");
    var total = document.getElementById("id_" + prefix + "-TOTAL_FORMS");
    var template = document.getElementById(prefix + "-template");
    var rows = document.getElementById(prefix + "-rows");
    if (!total || !template || !rows) return;
    var index = parseInt(total.value, 10) || 0;
    rows.insertAdjacentHTML("beforeend", template.innerHTML.replace(/__prefix__/g, String(index)));
    total.value = String(index + 1);
    var first = rows.lastElementChild && rows.lastElementChild.querySelector("input:not([type=hidden]), select");
    if (first) first.focus();
  }

  document.addEventListener("click", onFormsetAdd);
})();

// Reports dashboard: each <canvas data-chart="{...}"> is drawn with Chart.js from the JSON in its
// attribute, again after every htmx swap; "Table" swaps a chart for its table and back.
(function () {
  "use strict";

  var COLORS = ["#2754c5", "#12a594", "#e0a100", "#d9480f", "#7048e8", "#c2255c", "#5f6b7c", "#2b8a3e"];

  function axisTicks(kind) {
    if (kind === "money") return { callback: function (v) { return Number(v).toLocaleString(); } };
    if (kind === "hours") return { callback: function (v) { return v + " h"; } };
    return {};
  }

  function chartConfig(spec) {
    var horizontal = spec.horizontal;
    var valueAxis = horizontal ? "x" : "y";
    var hasSecond = spec.datasets.some(function (d) { return d.axis === "y2"; });
    var datasets = spec.datasets.map(function (d, i) {
      var second = d.axis === "y2" && !horizontal;
      var set = {
        label: d.label,
        data: d.data,
        type: second ? "line" : "bar",
        backgroundColor: COLORS[i % COLORS.length],
        borderColor: COLORS[i % COLORS.length],
      };
      if (second) set.yAxisID = "y2";
      return set;
    });
    var scales = {};
    scales[valueAxis] = { beginAtZero: true, stacked: spec.stacked, ticks: { precision: 0 } };
    scales[horizontal ? "y" : "x"] = { stacked: spec.stacked };
    if (hasSecond && !horizontal) {
      scales.y2 = { position: "right", beginAtZero: true, grid: { drawOnChartArea: false }, ticks: axisTicks(spec.secondAxis) };
    }
    return {
      type: "bar",
      data: { labels: spec.labels, datasets: datasets },
      options: {
        indexAxis: horizontal ? "y" : "x",
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        scales: scales,
        plugins: { legend: { position: "bottom", labels: { boxWidth: 12 } } },
      },
    };
  }

  function drawCharts() {
    if (!window.Chart) return;
    document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      var existing = window.Chart.getChart(canvas);
      if (existing) existing.destroy();
      new window.Chart(canvas, chartConfig(JSON.parse(canvas.getAttribute("data-chart"))));
    });
  }

  function onViewToggle(event) {
    var button = event.target.closest ? event.target.closest("[data-view-toggle]") : null;
    if (!button) return;
    var panel = button.closest(".report-panel");
    var chart = panel.querySelector("[data-chart-view]");
    var table = panel.querySelector("[data-table-view]");
    if (!chart || !table) return;
    var showTable = table.hidden;
    table.hidden = !showTable;
    chart.hidden = showTable;
    button.setAttribute("aria-pressed", String(showTable));
    button.textContent = showTable ? "Chart" : "Table";
  }

  document.addEventListener("DOMContentLoaded", drawCharts);
  document.addEventListener("htmx:afterSettle", drawCharts);
  document.addEventListener("click", onViewToggle);
})();

// Duplicate review: single-key shortcuts press the panel's buttons and links (marked data-shortcut),
// so each works exactly as a click would (htmx swaps in the next pair). After each swap the new
// panel takes the focus, so the next key acts on the next pair.
(function () {
  "use strict";

  var KEYS = {
    j: "next", s: "next", ArrowDown: "next",
    k: "previous", ArrowUp: "previous",
    m: "merge", n: "dismiss", l: "list", u: "undo",
  };

  function scope() {
    return document.querySelector("[data-review-panel]") || document.querySelector("[data-review-shortcuts]");
  }

  function typing(target) {
    if (!target || !target.matches) return false;
    return target.isContentEditable || target.matches("textarea, select, input:not([type=radio]):not([type=checkbox])");
  }

  function onReviewKeydown(event) {
    var panel = scope();
    if (!panel || event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    var target = event.target;
    if (event.key === "Escape" && panel.contains(target) && target !== panel && panel.matches("[data-review-panel]")) {
      panel.focus();
      return;
    }
    if (event.key === "f" && panel.matches("[data-review-panel]")) {
      var first = panel.querySelector("input[data-field-pick]:checked") || panel.querySelector("input[data-field-pick]");
      if (first) {
        event.preventDefault();
        first.focus();
      }
      return;
    }
    // Arrows on a radio pick its value (the browser's own behaviour); elsewhere they move between pairs.
    if (event.key.indexOf("Arrow") === 0 && target.matches && target.matches("input[type=radio]")) return;
    var name = KEYS[event.key];
    if (!name) return;
    // Undo is offered in the panel right after a merge, and on the queue page for the reviewer's last merge.
    var control = panel.querySelector('[data-shortcut="' + name + '"]') ||
      (name === "undo" ? document.querySelector('#undo-form [data-shortcut="undo"]') : null);
    if (!control || control.disabled) return;
    event.preventDefault();
    control.click();
  }

  function focusPanel() {
    var panel = document.querySelector("[data-review-panel]");
    if (panel && !panel.contains(document.activeElement)) panel.focus();
  }

  document.addEventListener("keydown", onReviewKeydown);
  document.addEventListener("DOMContentLoaded", focusPanel);
  // The button pressed went with the old panel, so the focus fell to the page: the new panel takes it.
  document.addEventListener("htmx:afterSettle", focusPanel);
})();
