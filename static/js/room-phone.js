// The video room's end and its phone fallback (consultations/_room_end.html), beside room.js, which
// tells this file what happens through events on #room: "room:state" (the server's room state),
// "room:connection" (the peer connection's state) and "room:level" (the quality ladder's step).
// - The doctor's "End the visit" opens a dialog that posts the confirmation form (without JavaScript
//   the link opens a page with the same form).
// - "Continue by phone" is offered to the doctor once the call has not connected (or has dropped) for
//   data-offer-after seconds after admission, or has stayed audio only for weakness data-weak-seconds.
// - Both pages show the phone panel as soon as the doctor chooses the phone; the doctor's shows how
//   the Twilio call is going.
(function () {
  "use strict";
  var root = document.getElementById("room"), box = document.getElementById("room-phone");
  if (!root || !box || box.dataset.bound) { return; }
  box.dataset.bound = "1";
  var t = box.dataset, offer = document.getElementById("phone-offer"), panel = document.getElementById("phone-panel");
  var dialog = document.getElementById("end-dialog"), endLink = document.getElementById("end-visit");
  var AFTER = (parseInt(t.offerAfter, 10) || 45) * 1000;
  var WEAK = (parseInt(t.weakSeconds, 10) || 30) * 1000;
  var admitted = t.offerIn !== "", connected = false, troubleSince = null, weakSince = null, timer = null;
  if (admitted) { troubleSince = Date.now() - Math.max(0, AFTER - parseInt(t.offerIn, 10) * 1000); }

  function now() { return Date.now(); }
  function showOffer() {
    if (offer && !offer.hidden) { return; }
    if (offer && (!panel || panel.hidden)) { offer.hidden = false; }
    clearInterval(timer);
    timer = null;
  }
  function check() {
    if (!offer || !admitted) { return; }
    if ((troubleSince !== null && now() - troubleSince >= AFTER) || (weakSince !== null && now() - weakSince >= WEAK)) {
      showOffer();
    }
  }
  if (offer) {
    offer.hidden = true;  // with JavaScript it waits for the call to be in trouble
    timer = setInterval(check, 1000);
  }

  root.addEventListener("room:state", function (event) {
    var state = event.detail || {};
    if (state.over) { box.hidden = true; clearInterval(timer); if (dialog && dialog.open) { dialog.close(); } return; }
    if (state.admitted && !admitted) { admitted = true; if (!connected) { troubleSince = now(); } }
    if (state.phone && panel) {
      panel.hidden = false;
      if (offer) { offer.hidden = true; }
      var status = document.getElementById("phone-call-status"), key = state.call &&
        ("tCall" + state.call.replace(/(^|-)([a-z])/g, function (m, dash, letter) { return letter.toUpperCase(); }));
      if (status && key && t[key]) { status.textContent = t[key]; }
    }
  });
  root.addEventListener("room:connection", function (event) {
    var state = event.detail && event.detail.state;
    connected = state === "connected";
    if (connected) { troubleSince = null; }
    else if ((state === "failed" || state === "disconnected") && troubleSince === null) { troubleSince = now(); }
  });
  root.addEventListener("room:level", function (event) {
    var detail = event.detail || {};
    if (detail.weakAudioOnly) { if (weakSince === null) { weakSince = now(); } }
    else { weakSince = null; }
    check();
  });

  if (endLink && dialog && dialog.showModal) {
    endLink.addEventListener("click", function (e) { e.preventDefault(); dialog.showModal(); });
    var cancel = document.getElementById("end-cancel");
    if (cancel) { cancel.addEventListener("click", function () { dialog.close(); }); }
  }
})();
