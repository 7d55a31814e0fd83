// klar's dashboard: live refresh (poll /api/live; when its stamp changes, fetch this page again
// and swap <main>) and the action buttons (POST without leaving the page). No framework.
"use strict";
(function () {
  var stamp = null;
  var live = document.getElementById("live");
  function say(text) { if (live) live.textContent = text; }

  function typing() {
    var a = document.activeElement;
    return a && (a.tagName === "INPUT" || a.tagName === "TEXTAREA");
  }

  function refresh() {
    return fetch(location.href, { headers: { Accept: "text/html" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (!html || typing()) return;
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.getElementById("main");
        var main = document.getElementById("main");
        if (fresh && main) { main.replaceWith(fresh); bind(); }
        // The header's health badge follows too: it is not green while anything is wrong.
        var health = doc.getElementById("health");
        var shown = document.getElementById("health");
        if (health && shown) shown.replaceWith(health);
      });
  }

  function poll() {
    fetch("/api/live", { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) {
        if (r.status === 401) { say("log in again"); return null; }
        return r.ok ? r.json() : null;
      })
      .then(function (j) {
        if (!j) return;
        var changed = stamp !== null && j.stamp !== stamp;
        stamp = j.stamp;
        say("live · checked " + new Date().toLocaleTimeString());
        if (changed) return refresh();
      })
      .catch(function () { say("klar is not answering"); })
      .then(function () { setTimeout(poll, 2000); });
  }

  // On a narrow screen the timeline scrolls sideways: start with now in view.
  function showNow() {
    var chart = document.querySelector(".chart[data-now]");
    if (!chart || chart.scrollWidth <= chart.clientWidth) return;
    var x = parseFloat(chart.dataset.now) / 100 * chart.scrollWidth;
    chart.scrollLeft = Math.max(0, x - chart.clientWidth / 3);
  }

  function bind() {
    showNow();
    var forms = document.querySelectorAll("form[data-action]");
    Array.prototype.forEach.call(forms, function (form) {
      if (form.dataset.bound) return;
      form.dataset.bound = "1";
      form.addEventListener("submit", function (ev) {
        ev.preventDefault();
        var button = form.querySelector("button");
        if (button) button.disabled = true;
        var out = document.getElementById("action");
        fetch(form.action, { method: "POST", headers: { Accept: "text/plain" }, credentials: "same-origin" })
          .then(function (r) { return r.text().then(function (t) { return [r.ok, r.status, t]; }); })
          .then(function (res) {
            out.textContent = res[0] ? res[2] : "refused (" + res[1] + "): " + res[2];
            out.className = res[0] ? "good" : "bad";
          })
          .catch(function (e) { out.textContent = "failed: " + e; out.className = "bad"; })
          .then(function () {
            if (button) button.disabled = false;
            var said = out.textContent;
            setTimeout(function () { if (out.textContent === said) out.textContent = ""; }, 8000);
          });
      });
    });
  }

  bind();
  poll();
})();
