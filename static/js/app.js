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

// Duplicate review: single-key shortcuts press the panel's buttons and links (marked data-shortcut),
// so each works exactly as a click would (htmx swaps in the next pair). After each swap the new
// panel takes the focus, so the next key acts on the next pair.
(function () {
  "use strict";

  var KEYS = {
    j: "next", s: "next", ArrowDown: "next",
    k: "previous", ArrowUp: "previous",
    m: "merge", n: "dismiss", l: "list",
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
    var control = panel.querySelector('[data-shortcut="' + name + '"]');
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
