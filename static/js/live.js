// Live pages: one websocket per page. An event names a channel; every element on the page that
// listens to that channel (data-live="doctor:3 clinic", with an id and an hx-get) re-fetches itself.
// Each live element carries the server's time when it was rendered (data-live-since). On every
// (re)connect the page sends the oldest of them and the server's hello names the channels that had
// an event since: only those elements re-fetch, so a page catches up on what it missed without
// loading again what it has just loaded. Without a time (or with "stale" missing) all refresh.
// <body data-live-state> says where the socket is: "connecting", "open" (the hello arrived), "offline".
(function () {
  "use strict";
  var socket = null, retry = 1000, timer = null;
  // One refresh per element at a time. An event that arrives while one is under way asks for
  // another once it lands: the one under way may have read the database before that change.
  var running = {}, again = {};
  function liveElements() { return Array.prototype.slice.call(document.querySelectorAll("[data-live]")); }
  function channels() {
    var set = {};
    liveElements().forEach(function (el) { el.dataset.live.split(" ").forEach(function (c) { if (c) { set[c] = true; } }); });
    return Object.keys(set);
  }
  function refreshElement(id) {
    var el = document.getElementById(id);
    if (!el || !window.htmx) { return; }
    if (running[id]) { again[id] = true; return; }
    running[id] = true;
    again[id] = false;
    var finished = false, guard = null;
    var done = function () {
      if (finished) { return; }
      finished = true;
      clearTimeout(guard);
      running[id] = false;
      if (again[id]) { refreshElement(id); }
    };
    guard = setTimeout(done, 20000);               // never wait for ever on a lost request
    // htmx.ajax, not a triggered event: htmx queues a request made while another is in flight on
    // the old element, and drops it once that element has been swapped out.
    // X-Live-Refresh: the page asked, not the person; the server does not count it as activity.
    window.htmx.ajax("GET", el.getAttribute("hx-get"), { source: el, target: el, swap: "outerHTML",
                                                         headers: { "X-Live-Refresh": "1" } }).then(done, done);
  }
  // The elements listening to any of `wanted` (all of them when `wanted` is null) re-fetch, once each.
  function refresh(wanted) {
    liveElements().forEach(function (el) {
      var listens = el.dataset.live.split(" ");
      if (!wanted || wanted.some(function (c) { return listens.indexOf(c) >= 0; })) {
        if (el.id && el.getAttribute("hx-get")) { refreshElement(el.id); }
        else if (window.htmx) { window.htmx.trigger(el, "live-refresh"); }
      }
    });
  }
  // The oldest render time of the page's live elements, as the server wrote it; null if one lacks it.
  function since() {
    var oldest = null, known = true;
    liveElements().forEach(function (el) {
      var value = el.dataset.liveSince || "";
      if (!/^[0-9]+(\.[0-9]+)?$/.test(value)) { known = false; }
      else if (oldest === null || parseFloat(value) < parseFloat(oldest)) { oldest = value; }
    });
    return known ? oldest : null;
  }
  function state(value) {
    if (value) { document.body.setAttribute("data-live-state", value); } else { document.body.removeAttribute("data-live-state"); }
  }
  function connect() {
    var wanted = channels();
    if (!wanted.length || !window.WebSocket) { state(null); return; }
    state("connecting");
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var from = since();
    socket = new WebSocket(scheme + location.host + "/ws/live?channels=" + encodeURIComponent(wanted.join(",")) +
                           (from ? "&since=" + from : ""));
    socket.onopen = function () { retry = 1000; document.body.classList.remove("offline"); };
    socket.onmessage = function (message) {
      var event;
      try { event = JSON.parse(message.data); } catch (e) { return; }
      if (event.type === "hello") { state("open"); refresh(Array.isArray(event.stale) ? event.stale : null); }
      else if (event.type === "resync") { refresh(null); }   // the server may have missed events
      else if (event.channel) { refresh([event.channel]); }
    };
    socket.onclose = function () {
      socket = null;
      state("offline");
      document.body.classList.add("offline");
      clearTimeout(timer);
      timer = setTimeout(connect, retry);          // flaky link: back off up to 30 s
      retry = Math.min(retry * 2, 30000);
    };
  }
  function start() {
    if (socket) { socket.onclose = null; socket.close(); socket = null; }
    clearTimeout(timer);
    retry = 1000;
    running = {};
    again = {};
    connect();
  }
  document.addEventListener("DOMContentLoaded", start);
  window.addEventListener("online", function () { if (!socket) { start(); } });
  // hx-boost swaps the page without reloading: follow the new page's channels.
  document.addEventListener("htmx:historyRestore", start);
  document.addEventListener("htmx:afterSettle", function (e) { if (e.target === document.body) { start(); } });
})();
