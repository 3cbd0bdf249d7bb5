// The video room (consultations/room.html): a camera and microphone check, the patient's waiting
// room, a 1:1 WebRTC call and the chat, over one websocket (/ws/room/<token>).
// Signalling follows the "perfect negotiation" pattern: either side may offer; when both do at once
// the polite side (the patient) rolls back and answers. A side that (re)enters the call says
// {presence: "join"}; the other starts a fresh peer connection and answers "here", so both begin
// from a clean state whatever happened before (a reload, a late arrival).
// Chat: each message has this page's own id (a resend is not doubled) and the server's sequence;
// the socket reconnects with ?after=<last seq seen> and the server replays what was missed.
(function () {
  "use strict";
  var root = document.getElementById("room");
  if (!root || !root.dataset.socket || root.dataset.bound) { return; }
  root.dataset.bound = "1";
  var t = root.dataset, doctor = t.member === "doctor";
  var VIDEO = { width: { ideal: 320 }, height: { ideal: 240 }, frameRate: { ideal: 15, max: 15 } };
  var MAX_BITRATE = 250000;
  var socket = null, retry = 1000, hello = null, state = {}, joined = false, inCall = false, over = false;
  var after = parseInt(t.after, 10) || 0, pending = {};
  var localStream = null, audioContext = null, meterTimer = null, keepalive = null;
  var pc = null, makingOffer = false, ignoreOffer = false, settingAnswer = false;

  function $(id) { return document.getElementById(id); }
  function say(id, text) { var el = $(id); if (el) { el.textContent = text || ""; } }
  function show(id, visible) { var el = $(id); if (el) { el.hidden = !visible; } }
  function send(message) {
    if (socket && socket.readyState === 1) { socket.send(JSON.stringify(message)); return true; }
    return false;
  }
  function csrf() {
    try { return JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"]; } catch (e) { return ""; }
  }

  // -- the device check -------------------------------------------------------------------------------
  function wanted() {
    var camera = $("camera").value, microphone = $("microphone").value;
    var video = Object.assign({}, VIDEO);
    if (camera) { video.deviceId = { exact: camera }; }
    return { video: video, audio: microphone ? { deviceId: { exact: microphone } } : true };
  }
  function openDevices() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      say("device-status", t.tNoDevices);
      return Promise.resolve(null);
    }
    if (localStream) { localStream.getTracks().forEach(function (track) { track.stop(); }); }
    return navigator.mediaDevices.getUserMedia(wanted())
      .catch(function () { return navigator.mediaDevices.getUserMedia({ audio: true }); })  // no camera: sound only
      .then(function (stream) {
        localStream = stream;
        $("self-view").srcObject = stream;
        $("self-small").srcObject = stream;
        meter(stream);
        say("device-status", "");
        if (pc) { replaceTracks(); }
        return listDevices();
      })
      .catch(function () { localStream = null; say("device-status", t.tNoDevices); });
  }
  function listDevices() {
    return navigator.mediaDevices.enumerateDevices().then(function (devices) {
      fill($("camera"), devices, "videoinput", localStream && localStream.getVideoTracks()[0]);
      fill($("microphone"), devices, "audioinput", localStream && localStream.getAudioTracks()[0]);
    });
  }
  function fill(select, devices, kind, track) {
    var current = track && track.getSettings ? track.getSettings().deviceId : "";
    while (select.firstChild) { select.removeChild(select.firstChild); }
    devices.filter(function (d) { return d.kind === kind; }).forEach(function (d, i) {
      var option = document.createElement("option");
      option.value = d.deviceId;
      option.textContent = d.label || String(i + 1);
      option.selected = d.deviceId === current;
      select.appendChild(option);
    });
  }
  function meter(stream) {
    var Context = window.AudioContext || window.webkitAudioContext;
    if (!stream.getAudioTracks().length || !Context) { return; }
    if (audioContext) { audioContext.close(); }
    audioContext = new Context();
    var analyser = audioContext.createAnalyser(), data = new Uint8Array(512);
    analyser.fftSize = 512;
    audioContext.createMediaStreamSource(stream).connect(analyser);
    clearInterval(meterTimer);
    meterTimer = setInterval(function () {
      analyser.getByteTimeDomainData(data);
      var peak = 0;
      for (var i = 0; i < data.length; i++) { peak = Math.max(peak, Math.abs(data[i] - 128)); }
      $("mic-level").value = Math.min(1, peak / 64);
    }, 100);
  }

  // -- the socket ---------------------------------------------------------------------------------------
  function connect() {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var path = t.socket.replace(/^wss?:\/\/[^/]+/, "");  // url_for gives a websocket route its own scheme
    socket = new WebSocket(scheme + location.host + path + "?after=" + after);
    socket.onopen = function () {
      retry = 1000;
      Object.keys(pending).forEach(function (id) { send({ type: "chat", id: id, text: pending[id] }); });
    };
    socket.onmessage = function (message) {
      var event;
      try { event = JSON.parse(message.data); } catch (e) { return; }
      if (event.type === "hello") { hello = event; }
      else if (event.type === "state") { onState(event); }
      else if (event.type === "chat") { event.messages.forEach(showMessage); }
      else if (event.type === "chat-refused") { refused(event); }
      else if (event.type === "signal") { onSignal(event.data || {}); }
    };
    socket.onclose = function () {
      socket = null;
      if (over) { return; }
      say("call-status", t.tOffline);
      setTimeout(connect, retry);
      retry = Math.min(retry * 2, 30000);
    };
  }
  function onState(next) {
    state = next;
    if (next.over) {
      over = true;
      say("call-status", t.tOver);
      closePeer();
      return;
    }
    if (doctor) {
      say("patient-status", next.waiting ? t.tPatientWaiting : (next.admitted ? "" : t.tPatientAway));
      var admit = $("admit");
      if (admit) { admit.disabled = !next.waiting && !next.admitted; }
      if (next.admitted) { show("admit-form", false); }
    } else {
      show("room-waiting", !next.admitted);
    }
    if (next.admitted && joined) { startCall(); }
    else if (!inCall) { say("call-status", ""); }
  }
  function join() {
    joined = true;
    show("room-check", false);
    if (!doctor) { show("room-waiting", true); connect(); }
    else if (state.admitted) { startCall(); }
    if (!keepalive) {
      // A call is activity: the idle sign-out for shared computers must not end it.
      keepalive = setInterval(function () {
        fetch(t.keepaliveUrl, { method: "POST", credentials: "same-origin", headers: { "X-CSRFToken": csrf() } });
      }, 240000);
    }
  }

  // -- the call (perfect negotiation) -----------------------------------------------------------------
  function startCall() {
    if (inCall) { return; }
    inCall = true;
    show("room-check", false);
    show("room-waiting", false);
    show("room-call", true);
    say("call-status", t.tCalling);
    send({ type: "signal", data: { presence: "join" } });
  }
  function closePeer() {
    if (pc) { pc.onnegotiationneeded = pc.onicecandidate = pc.ontrack = pc.onconnectionstatechange = null; pc.close(); }
    pc = null;
  }
  function newPeer() {
    closePeer();
    var config = { iceServers: (hello && hello.ice) || [] };
    if (hello && hello.policy === "relay") { config.iceTransportPolicy = "relay"; }
    var peer = pc = new RTCPeerConnection(config);
    makingOffer = ignoreOffer = settingAnswer = false;
    var tracks = localStream ? localStream.getTracks() : [];
    tracks.forEach(function (track) { peer.addTrack(track, localStream); });
    ["audio", "video"].forEach(function (kind) {  // no camera or microphone: still see and hear the other
      if (!tracks.some(function (track) { return track.kind === kind; })) { peer.addTransceiver(kind, { direction: "recvonly" }); }
    });
    peer.ontrack = function (event) {
      var video = $("remote-video");
      var stream = event.streams[0] || new MediaStream([event.track]);
      if (video.srcObject !== stream) { video.srcObject = stream; }
    };
    peer.onicecandidate = function (event) {
      if (event.candidate) { send({ type: "signal", data: { candidate: event.candidate.toJSON() } }); }
    };
    peer.onnegotiationneeded = function () {
      makingOffer = true;
      peer.setLocalDescription()
        .then(function () { send({ type: "signal", data: { description: peer.localDescription.toJSON() } }); })
        .catch(function (e) { console.warn("offer failed", e); })
        .then(function () { makingOffer = false; });
    };
    peer.onconnectionstatechange = function () {
      if (peer.connectionState === "connected") { say("call-status", t.tConnected); capBitrate(peer); }
      else if (peer.connectionState === "failed") { peer.restartIce(); }
    };
    return peer;
  }
  function capBitrate(peer) {
    peer.getSenders().forEach(function (sender) {
      if (!sender.track || sender.track.kind !== "video") { return; }
      var params = sender.getParameters();
      if (!params.encodings || !params.encodings.length) { params.encodings = [{}]; }
      params.encodings[0].maxBitrate = MAX_BITRATE;
      params.encodings[0].maxFramerate = 15;
      sender.setParameters(params).catch(function () {});
    });
  }
  function replaceTracks() {
    pc.getSenders().forEach(function (sender) {
      if (!sender.track) { return; }
      var next = localStream.getTracks().filter(function (track) { return track.kind === sender.track.kind; })[0];
      if (next) { sender.replaceTrack(next); }
    });
  }
  function onSignal(data) {
    if (!inCall) { return; }
    if (data.presence === "join") { newPeer(); send({ type: "signal", data: { presence: "here" } }); return; }
    if (data.presence === "here") { if (!pc) { newPeer(); } return; }
    if (data.presence === "bye") { closePeer(); $("remote-video").srcObject = null; say("call-status", t.tCalling); return; }
    var peer = pc || newPeer(), polite = !!(hello && hello.polite);
    if (data.description) {
      var description = data.description;
      var ready = !makingOffer && (peer.signalingState === "stable" || settingAnswer);
      var collision = description.type === "offer" && !ready;
      ignoreOffer = !polite && collision;
      if (ignoreOffer) { return; }
      settingAnswer = description.type === "answer";
      peer.setRemoteDescription(description)
        .then(function () {
          settingAnswer = false;
          if (description.type !== "offer") { return null; }
          return peer.setLocalDescription().then(function () {
            send({ type: "signal", data: { description: peer.localDescription.toJSON() } });
          });
        })
        .catch(function (e) { settingAnswer = false; console.warn("negotiation failed", e); });
    } else if (data.candidate) {
      peer.addIceCandidate(data.candidate).catch(function (e) { if (!ignoreOffer) { console.warn("candidate refused", e); } });
    }
  }

  // -- the chat ------------------------------------------------------------------------------------------
  function newId() {
    if (window.crypto && crypto.randomUUID) { return crypto.randomUUID(); }
    return Date.now().toString(36) + Math.random().toString(36).slice(2);
  }
  function line(id, who, text) {
    var item = document.createElement("li"), meta = document.createElement("span");
    item.dataset.id = id;
    meta.className = "muted small";
    meta.textContent = who;
    item.appendChild(meta);
    item.appendChild(document.createElement("br"));
    item.appendChild(document.createTextNode(text));
    return item;
  }
  function showMessage(message) {
    var list = $("chat-messages");
    if (list.querySelector('[data-seq="' + message.seq + '"]')) { return; }
    var waiting = list.querySelector('[data-pending="' + message.id + '"]');
    if (waiting) { list.removeChild(waiting); }
    delete pending[message.id];
    var item = line(message.id, (message.mine ? t.tYou : t.tOther) + " · " + message.at, message.text);
    item.dataset.seq = message.seq;
    if (message.mine) { item.className = "chat-mine"; }
    list.insertBefore(item, list.querySelector("[data-pending]"));
    after = Math.max(after, message.seq);
  }
  function refused(event) {
    var item = $("chat-messages").querySelector('[data-pending="' + event.id + '"]');
    delete pending[event.id];
    if (item) { item.firstChild.textContent = event.message; item.removeAttribute("data-pending"); item.className = "error"; }
  }
  var form = $("chat-form");
  form.addEventListener("submit", function (e) {
    if (!socket || socket.readyState !== 1) { return; }  // not connected: the form posts as it is
    e.preventDefault();
    var box = form.querySelector("textarea"), text = box.value.trim();
    if (!text) { return; }
    var id = newId(), item = line(id, t.tYou + " · " + t.tSending, text);
    item.className = "chat-mine";
    item.dataset.pending = id;
    $("chat-messages").appendChild(item);
    pending[id] = text;
    send({ type: "chat", id: id, text: text });
    box.value = "";
  });

  // -- start ---------------------------------------------------------------------------------------------
  $("join").addEventListener("click", join);
  $("camera").addEventListener("change", openDevices);
  $("microphone").addEventListener("change", openDevices);
  var admitForm = $("admit-form");
  if (admitForm) {
    admitForm.addEventListener("submit", function (e) {
      if (send({ type: "admit" })) { e.preventDefault(); if (!joined) { join(); } }
    });
  }
  window.__roomPeer = function () { return pc; };  // for the tests' getStats and a curious support person
  window.addEventListener("pagehide", function () { send({ type: "signal", data: { presence: "bye" } }); });
  openDevices();
  if (doctor) { connect(); }  // the doctor sees the waiting room live from the start
})();
