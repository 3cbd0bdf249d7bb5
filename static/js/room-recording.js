// Recording the video visit with both members' consent (consultations/_recording.html, after room.js).
// Either member asks, the other agrees or refuses, either stops it: plain forms, posted here with
// fetch; the new state comes back to both over the room's socket ({type: "recording", on, patient,
// doctor}). The doctor's browser records: one file of the patient's picture (the doctor's own small in
// a corner) and both voices, drawn onto a canvas and mixed in an AudioContext, so the recorder's tracks
// stay the same whatever happens to the call's peer connection (a reconnect, an ICE restart, screen
// sharing). It sends a piece every PIECE_MS, one after another, so a dropped call keeps what was
// recorded; a piece that fails on the network is sent again (the server keeps it once).
(function () {
  "use strict";
  var section = document.getElementById("recording"), room = window.MyAfyaRoom;
  if (!section || !room || section.dataset.bound) { return; }
  section.dataset.bound = "1";
  var t = section.dataset, me = t.member, them = me === "doctor" ? "patient" : "doctor", doctor = me === "doctor";
  var PIECE_MS = 5000, SIZE = { width: 320, height: 240 }, FPS = 15;
  var consentForm = document.getElementById("recording-consent-form"), withdrawForm = document.getElementById("recording-withdraw-form");
  var state = null, recorder = null, recordingId = null, seq = 0, queue = [], sending = false, retry = 1000;
  var audio = null, destination = null, connected = {}, drawTimer = null;
  var counts = { sent: 0, refused: 0 };

  function $(id) { return document.getElementById(id); }
  function csrf() {
    try { return JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"]; } catch (e) { return ""; }
  }
  function tell(text) { $("recording-message").textContent = text || ""; }

  // -- the state, on both sides -----------------------------------------------------------------------
  function render(s) {
    var mine = s[me], theirs = s[them], status = $("recording-status");
    status.textContent = s.on ? t.tOn : (mine ? t.tAsked : (theirs ? t.tAsks : t.tOff));
    status.className = s.on ? "recording-on" : "";
    consentForm.hidden = !!mine;
    $("recording-consent").textContent = theirs ? t.tAgree : t.tAsk;
    withdrawForm.hidden = !(mine || theirs);
    $("recording-withdraw").textContent = s.on ? t.tStop : (mine ? t.tCancel : t.tRefuse);
  }
  room.on("recording", function (next) {
    var first = state === null;
    state = next;
    render(next);
    if (!doctor) { return; }
    if (next.on && next.id !== recordingId) {
      // A recording already running when this page opened was another page's (a reload): its recorder
      // is gone, and a new one cannot continue its file. It stops; asking again starts a new one.
      if (first) { tell(t.tFailed); post(withdrawForm); return; }
      start(next.id);
    } else if (!next.on && recorder) {
      stop();
    }
  });
  room.on("state", function (next) {
    section.hidden = !next.admitted || !!next.over;
    if (next.over) { stop(); }
  });
  function post(form) {
    var button = form.querySelector("button");
    button.disabled = true;
    return fetch(form.action, { method: "POST", credentials: "same-origin",
                                headers: { "X-CSRFToken": csrf(), "Accept": "application/json" } })
      .then(function (response) {
        if (response.status === 204) { tell(""); return null; }
        return response.json().then(function (body) { tell(body.error); }, function () { tell(t.tFailed); });
      })
      .catch(function () { tell(t.tFailed); })
      .then(function () { button.disabled = false; });
  }
  [consentForm, withdrawForm].forEach(function (form) {
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      if (form === withdrawForm) { stop(); }  // at once, before the server has even heard
      post(form);
    });
  });

  // -- the doctor's recorder ----------------------------------------------------------------------------
  function mixedStream() {
    var canvas = document.createElement("canvas"), g = canvas.getContext("2d");
    var remote = $("remote-video"), self = $("self-small");
    canvas.width = SIZE.width;
    canvas.height = SIZE.height;
    drawTimer = setInterval(function () {
      g.fillStyle = "#000";
      g.fillRect(0, 0, SIZE.width, SIZE.height);
      if (remote.videoWidth) { g.drawImage(remote, 0, 0, SIZE.width, SIZE.height); }
      if (self.videoWidth) { g.drawImage(self, SIZE.width * 3 / 4, SIZE.height * 3 / 4, SIZE.width / 4, SIZE.height / 4); }
      connectVoices();  // a new peer connection brings new tracks: they join the mix
    }, 1000 / FPS);
    var Context = window.AudioContext || window.webkitAudioContext;
    audio = new Context();
    if (audio.resume) { audio.resume(); }
    destination = audio.createMediaStreamDestination();
    connectVoices();
    return new MediaStream(canvas.captureStream(FPS).getVideoTracks().concat(destination.stream.getAudioTracks()));
  }
  function connectVoices() {
    var tracks = [];
    [$("remote-video").srcObject, room.localStream()].forEach(function (stream) {
      if (stream && stream.getAudioTracks) { tracks = tracks.concat(stream.getAudioTracks()); }
    });
    tracks.forEach(function (track) {
      if (connected[track.id] || track.readyState !== "live") { return; }
      connected[track.id] = audio.createMediaStreamSource(new MediaStream([track]));
      connected[track.id].connect(destination);
    });
  }
  function mimeType() {
    var types = ["video/webm;codecs=vp8,opus", "video/webm"];
    for (var i = 0; i < types.length; i++) { if (MediaRecorder.isTypeSupported(types[i])) { return types[i]; } }
    return "";
  }
  function start(id) {
    stop();
    if (!window.MediaRecorder || !mimeType()) { tell(t.tUnsupported); post(withdrawForm); return; }
    recordingId = id;
    seq = 0;
    var current = new MediaRecorder(mixedStream(), { mimeType: mimeType(), videoBitsPerSecond: 250000, audioBitsPerSecond: 32000 });
    current.ondataavailable = function (e) {
      if (e.data && e.data.size) { queue.push({ id: id, seq: seq++, blob: e.data }); send(); }
    };
    current.start(PIECE_MS);
    recorder = current;
    tell("");
  }
  function stop() {
    if (recorder && recorder.state !== "inactive") { recorder.stop(); }  // its last piece follows (refused once consent is gone)
    recorder = null;
    recordingId = null;
    clearInterval(drawTimer);
    if (audio) { audio.close(); audio = null; }
    connected = {};
  }
  function pieceUrl(piece) {
    return t.pieceUrl.replace(/\/0\/pieces\/0$/, "/" + piece.id + "/pieces/" + piece.seq);
  }
  function send() {
    if (sending || !queue.length) { return; }
    var piece = queue[0];
    sending = true;
    fetch(pieceUrl(piece), { method: "POST", credentials: "same-origin", body: piece.blob,
                             headers: { "X-CSRFToken": csrf(), "Content-Type": piece.blob.type || "video/webm" } })
      .then(function (response) {
        sending = false;
        retry = 1000;
        if (response.ok) { queue.shift(); counts.sent++; send(); return; }
        // Refused: the recording is not running any more (409: a member stopped it) or cannot go on.
        counts.refused++;
        queue = queue.filter(function (p) { return p.id !== piece.id; });
        if (response.status !== 409 || piece.id === recordingId) {
          tell(t.tFailed);
          if (piece.id === recordingId) { stop(); post(withdrawForm); }
        }
        send();
      }, function () {  // the network: the same piece again, later
        sending = false;
        setTimeout(send, retry);
        retry = Math.min(retry * 2, 30000);
      });
  }

  // For the tests: cut a piece now rather than in PIECE_MS, and what was sent.
  window.__roomRecording = {
    cut: function () { if (recorder && recorder.state === "recording") { recorder.requestData(); } },
    state: function () {
      return { recording: !!recorder, id: recordingId, asked: state && state.id, sent: counts.sent, refused: counts.refused, queued: queue.length };
    }
  };
})();
