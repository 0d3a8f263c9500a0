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

  document.addEventListener("DOMContentLoaded", collapseOnNarrowScreens);
  document.addEventListener("click", closeOtherBreakdowns);
})();
