// Analytics charts: every element with data-figure holds a Plotly figure (JSON) built on the
// server; draw it on load and again whenever htmx swaps new numbers in (live or filters).
(function () {
  "use strict";

  function draw(root) {
    if (!window.Plotly) return;
    root.querySelectorAll("[data-figure]").forEach((el) => {
      const fig = JSON.parse(el.dataset.figure);
      const config = { displayModeBar: false, responsive: true, staticPlot: !!fig.static };
      window.Plotly.react(el, fig.data, fig.layout, config);
      el.dataset.drawn = "yes";
    });
  }

  document.addEventListener("DOMContentLoaded", () => draw(document));
  document.addEventListener("htmx:afterSettle", (e) => draw(e.detail.elt.parentElement || document));
})();
