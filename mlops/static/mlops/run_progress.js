/* Keep the admin's run progress bars live: poll the staff-only JSON endpoint every
 * two seconds for the runs that are not finished, and update each <progress> and its
 * text label in place (no page reload). Stops when every run shown is finished. */
(function () {
  "use strict";

  var INTERVAL_MS = 2000;

  function unfinished() {
    var bars = document.querySelectorAll(".run-progress[data-run-id]");
    return Array.prototype.filter.call(bars, function (el) {
      return el.getAttribute("data-finished") !== "true";
    });
  }

  function show(el, run) {
    var percent = Math.round(run.progress) + "%";
    var bar = el.querySelector("progress");
    bar.value = run.progress;
    bar.textContent = percent;
    bar.setAttribute("aria-label", "Run #" + run.id + " progress " + percent);
    var text = percent + " · " + run.state_display;
    if (run.message && !run.finished) {
      text += " · " + run.message;
    }
    el.querySelector(".run-progress-label").textContent = text;
    el.setAttribute("data-state", run.state);
    el.setAttribute("data-finished", run.finished ? "true" : "false");
  }

  function poll() {
    var open = unfinished();
    if (!open.length) {
      return;
    }
    var ids = open.map(function (el) { return el.getAttribute("data-run-id"); });
    var url = open[0].getAttribute("data-url") + "?ids=" + ids.join(",");
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.json();
      })
      .then(function (data) {
        data.runs.forEach(function (run) {
          var selector = '.run-progress[data-run-id="' + run.id + '"]';
          document.querySelectorAll(selector).forEach(function (el) { show(el, run); });
        });
      })
      .catch(function () { /* a missed poll is retried on the next tick */ })
      .then(function () {
        if (unfinished().length) {
          window.setTimeout(poll, INTERVAL_MS);
        }
      });
  }

  function start() {
    if (unfinished().length) {
      window.setTimeout(poll, INTERVAL_MS);
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
