/* Keep the dashboard's "training…" panels live: poll the staff-only readiness
 * endpoint every two seconds, show each kind's run under way (training, then
 * inference) and reload the page once a panel's model serves, so that the panel
 * shows what the model produced. Stops when no panel waits. */
(function () {
  "use strict";

  var INTERVAL_MS = 2000;

  function panels() {
    return document.querySelectorAll(".ops-training[data-kind]");
  }

  function show(panel, status) {
    var label = panel.querySelector(".ops-training-label");
    var bar = panel.querySelector("progress");
    var run = status.run;
    if (!run) {
      label.textContent = "waiting for the next run";
      return;
    }
    var percent = Math.round(run.progress) + "%";
    var text = run.type + " #" + run.id + ": " + percent + " · " + run.state_display;
    if (run.message) {
      text += " · " + run.message.slice(0, 60);
    }
    label.textContent = text;
    if (bar) {
      bar.value = run.progress;
      bar.textContent = percent;
    }
  }

  function poll() {
    var open = panels();
    if (!open.length) {
      return;
    }
    fetch(open[0].getAttribute("data-url"), {
      credentials: "same-origin",
      headers: { Accept: "application/json" }
    })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.json();
      })
      .then(function (kinds) {
        var served = false;
        Array.prototype.forEach.call(open, function (panel) {
          var status = kinds[panel.getAttribute("data-kind")];
          if (!status) {
            return;
          }
          if (status.serving) {
            served = true;
          } else {
            show(panel, status);
          }
        });
        if (served) {
          window.location.reload();
        }
      })
      .catch(function () { /* a missed poll is retried on the next tick */ })
      .then(function () {
        window.setTimeout(poll, INTERVAL_MS);
      });
  }

  function start() {
    if (panels().length) {
      window.setTimeout(poll, INTERVAL_MS);
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
