// MyAfya: idle sign-out warning for shared computers. No inline scripts (the CSP forbids them).
(function () {
  "use strict";
  var body = document.body, timer = null, tick = null;
  function csrf() {
    try { return JSON.parse(body.getAttribute("hx-headers"))["X-CSRFToken"]; } catch (e) { return ""; }
  }
  function schedule(secondsLeft) {
    var warnAt = parseInt(body.dataset.idleWarning, 10) || 60;
    clearTimeout(timer);
    timer = setTimeout(check, Math.max(1, secondsLeft - warnAt) * 1000);
  }
  function check() {
    fetch(body.dataset.sessionStatus, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) {
        if (r.status >= 500) { throw new Error("server unavailable"); }  // not signed out: the database may be down
        return r.redirected || !r.ok ? { seconds_left: 0 } : r.json();
      })
      .then(function (s) {
        var warnAt = parseInt(body.dataset.idleWarning, 10) || 60;
        if (s.seconds_left <= 0) { window.location.href = "/login?reason=idle"; }
        else if (s.seconds_left > warnAt) { schedule(s.seconds_left); }   // another tab was active
        else { warn(s.seconds_left); }
      })
      .catch(function () { timer = setTimeout(check, 10000); });      // flaky network: ask again soon
  }
  function seconds(out, n) {  // "{n} seconds" in the page's language (base.html)
    return (out.dataset.format || "{n} seconds").replace("{n}", n);
  }
  function warn(secondsLeft) {
    var dialog = document.getElementById("idle-warning"), out = document.getElementById("idle-countdown");
    var deadline = Date.now() + secondsLeft * 1000;
    if (out) { out.textContent = seconds(out, Math.max(0, Math.round(secondsLeft))); }
    if (dialog && !dialog.open && dialog.showModal) { dialog.showModal(); }
    clearInterval(tick);
    tick = setInterval(function () {
      var left = Math.round((deadline - Date.now()) / 1000);
      if (out) { out.textContent = seconds(out, left); }
      if (left <= 0) { clearInterval(tick); check(); }
    }, 1000);
  }
  function stay() {
    fetch(body.dataset.keepalive, { method: "POST", credentials: "same-origin", headers: { "X-CSRFToken": csrf() } })
      .then(function (r) {
        if (r.status >= 500) { throw new Error("server unavailable"); }
        return r.ok ? r.json() : { seconds_left: 0 };
      })
      .then(function (s) {
        clearInterval(tick);
        var dialog = document.getElementById("idle-warning");
        if (dialog && dialog.open) { dialog.close(); }
        if (s.seconds_left > 0) { schedule(s.seconds_left); } else { window.location.href = "/login?reason=idle"; }
      })
      .catch(function () {});  // the countdown goes on; when it ends, check() asks the server again
  }
  document.addEventListener("cancel", function (e) {  // Escape on the warning: "Stay signed in"
    if (e.target.id === "idle-warning") { e.preventDefault(); stay(); }
  }, true);
  function start() {
    body = document.body;
    if (!body.dataset.idleTimeout) { return; }
    var stayButton = document.getElementById("idle-stay");
    if (stayButton && !stayButton.dataset.bound) { stayButton.dataset.bound = "1"; stayButton.addEventListener("click", stay); }
    schedule(parseInt(body.dataset.idleTimeout, 10));
  }
  document.addEventListener("DOMContentLoaded", start);
  // "Print summary" buttons (data-print) work only with JS, so CSS shows them only under html.js.
  document.documentElement.classList.add("js");
  document.addEventListener("click", function (e) {
    if (e.target.closest && e.target.closest("[data-print]")) { window.print(); }
  });
  // The server is unavailable (the database is down): a link or form followed with hx-boost shows the
  // 503 page, as it would without JavaScript, instead of nothing happening. Fragments stay as they are.
  document.addEventListener("htmx:beforeSwap", function (e) {
    if (e.detail.boosted && e.detail.xhr.status === 503) { e.detail.shouldSwap = true; e.detail.isError = false; }
  });
  // Destructive actions ask first (app/core/confirm.py): a form marked data-confirm opens the dialog;
  // "yes" sends the very same form (through htmx when boosted) with the confirmation field the server
  // waits for; "Go back", Escape or a tap outside change nothing. Capture on window: before htmx sees it.
  var asking = null;
  window.addEventListener("submit", function (e) {
    var form = e.target, dialog = document.getElementById("confirm-dialog");
    if (!form.matches || !form.matches("form[data-confirm]") || form.dataset.confirming === "1") { return; }
    if (!dialog || !dialog.showModal) { return; }  // no dialog: the server asks on its own page
    e.preventDefault();
    e.stopImmediatePropagation();
    asking = { form: form, submitter: e.submitter };
    document.getElementById("confirm-question").textContent = form.dataset.confirm;
    document.getElementById("confirm-detail").textContent = form.dataset.confirmDetail || "";
    document.getElementById("confirm-yes").textContent = form.dataset.confirmYes || form.dataset.confirm;
    dialog.showModal();
    document.getElementById("confirm-no").focus();
  }, true);
  function confirmed() {
    var dialog = document.getElementById("confirm-dialog"), pending = asking, field;
    asking = null;
    dialog.close();
    if (!pending) { return; }
    field = document.createElement("input");
    field.type = "hidden"; field.name = "confirmed"; field.value = "yes";
    pending.form.appendChild(field);
    pending.form.dataset.confirming = "1";
    try {
      if (pending.form.requestSubmit) { pending.form.requestSubmit(pending.submitter || undefined); } else { pending.form.submit(); }
    } finally {  // the form's values are taken: the next tap on it asks again
      pending.form.removeChild(field);
      delete pending.form.dataset.confirming;
    }
  }
  document.addEventListener("click", function (e) {
    var dialog = document.getElementById("confirm-dialog");
    if (!dialog || !dialog.open) { return; }
    if (e.target.id === "confirm-yes") { confirmed(); }
    else if (e.target.id === "confirm-no") { asking = null; dialog.close(); }
  });
  document.addEventListener("close", function (e) {
    if (e.target.id === "confirm-dialog") { asking = null; }
  }, true);
  // Any request the server sees counts as activity: restart the countdown after each htmx swap;
  // except a live page re-fetching itself after an event (live.js), which the server does not count.
  // A part swapped in (the picker's doctor or day): focus its heading, not the top; announce it.
  document.addEventListener("htmx:afterSettle", function (e) {
    var config = e.detail.requestConfig,
        h = !e.detail.boosted && e.target.querySelector && e.target.querySelector("[data-swap-focus]");
    if (h) { h.focus(); document.getElementById("announce").textContent = h.dataset.swapFocus; }
    if (config && config.headers && config.headers["X-Live-Refresh"] === "1") { return; }
    start();
  });
})();
