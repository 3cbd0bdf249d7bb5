// The video room (consultations/room.html): a camera and microphone check, the patient's waiting
// room, a 1:1 WebRTC call and the chat, over one websocket (/ws/room/<token>).
// A side that (re)enters the call says {presence: "join"}; the other drops what it had and answers
// "here", so both begin from a clean state whatever happened before (a reload, a late arrival). The
// doctor always makes the first offer of a connection: when both made one at once (both joining
// together), Chromium's rollback on the polite side left it gathering no ICE candidates, and the
// call never connected. Later renegotiations (an ICE restart, a device added) follow the "perfect
// negotiation" pattern: either side may offer; in a collision the polite side (the patient) rolls back.
// Chat: each message has this page's own id (a resend is not doubled) and the server's sequence;
// the socket reconnects with ?after=<last seq seen> and the server replays what was missed.
// The quality ladder (room-quality.js decides, this file measures and applies), the media toggles,
// screen sharing and the recovery after a network change have their own sections below.
(function () {
  "use strict";
  var root = document.getElementById("room");
  if (!root || !root.dataset.socket || root.dataset.bound) { return; }
  root.dataset.bound = "1";
  var t = root.dataset, doctor = t.member === "doctor";
  var VIDEO = { width: { ideal: 320 }, height: { ideal: 240 }, frameRate: { ideal: 15, max: 15 } };
  var socket = null, retry = 1000, dropped = false, hello = null, state = {}, joined = false, inCall = false, over = false;
  var after = parseInt(t.after, 10) || 0, pending = {};
  var localStream = null, audioContext = null, meterTimer = null, keepalive = null;
  var reconnectTimer = null;
  // The call waits for the camera: a peer connection made before getUserMedia answers would carry no
  // tracks and the other side would see nothing. Signals are handled in order, each once the devices are open.
  var devicesReady = Promise.resolve(), signalQueue = Promise.resolve();
  var pc = null, makingOffer = false, ignoreOffer = false, settingAnswer = false;
  // For the room's other scripts (room-recording.js): the socket's events by type, and this side's camera and microphone.
  var listeners = {};
  window.MyAfyaRoom = {
    on: function (type, listen) { (listeners[type] = listeners[type] || []).push(listen); },
    localStream: function () { return localStream; }
  };

  var trail = [];  // the last signalling steps, for window.__roomTrail (tests, support)
  function note(what) { trail.push(Math.round(performance.now()) + " " + what); if (trail.length > 80) { trail.shift(); } }
  function described(data) {
    return data.presence || (data.description ? data.description.type : (data.candidate ? "candidate" : "?"));
  }
  function $(id) { return document.getElementById(id); }
  function say(id, text) { var el = $(id); if (el) { el.textContent = text || ""; } }
  function show(id, visible) { var el = $(id); if (el) { el.hidden = !visible; } }
  function send(message) {
    if (message.type === "signal") { note("out " + described(message.data) + (socket && socket.readyState === 1 ? "" : " (not sent)")); }
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
    devicesReady = navigator.mediaDevices.getUserMedia(wanted())
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
    return devicesReady;
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
      if (dropped) { dropped = false; say("net-status", t.tBack); rejoinIfStuck(); }
      Object.keys(pending).forEach(function (id) { send({ type: "chat", id: id, text: pending[id] }); });
    };
    socket.onmessage = function (message) {
      var event;
      try { event = JSON.parse(message.data); } catch (e) { return; }
      if (event.type === "hello") { hello = event; }
      else if (event.type === "state") { onState(event); }
      else if (event.type === "chat") { event.messages.forEach(showMessage); }
      else if (event.type === "chat-refused") { refused(event); }
      else if (event.type === "signal") { note("in " + described(event.data || {})); queueSignal(event.data || {}); }
      else if (event.type === "peer-quality") { onPeerQuality(event); }
      (listeners[event.type] || []).forEach(function (listen) { listen(event); });
    };
    socket.onclose = function () {
      socket = null;
      if (over) { return; }
      dropped = true;
      say("net-status", t.tOffline);
      reconnectTimer = setTimeout(connect, retry / 2 + Math.random() * retry / 2);  // jitter: not all at once
      retry = Math.min(retry * 2, 30000);
    };
  }
  function tell(name, detail) { root.dispatchEvent(new CustomEvent(name, { detail: detail })); }  // for room-phone.js
  function onState(next) {
    state = next;
    tell("room:state", next);
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
    if (next.admitted) { document.body.dispatchEvent(new CustomEvent("room-admitted")); }  // the doctor's panel loads
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
    devicesReady.then(function () { send({ type: "signal", data: { presence: "join" } }); });
  }
  function queueSignal(data) {
    signalQueue = signalQueue.then(function () { return devicesReady; })
      .then(function () { onSignal(data); })
      .catch(function (e) { console.warn("signal not handled", e); });
  }
  function closePeer() {
    if (pc) { pc.onnegotiationneeded = pc.onicecandidate = pc.ontrack = pc.onconnectionstatechange = pc.onsignalingstatechange = null; pc.close(); }
    pc = null;
  }
  function newPeer() {
    closePeer();
    var config = { iceServers: (hello && hello.ice) || [] };
    if (hello && hello.policy === "relay") { config.iceTransportPolicy = "relay"; }
    var peer = pc = new RTCPeerConnection(config);
    lastTotals = null;  // the quality deltas start again with this connection
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
      offersMade++;
      peer.setLocalDescription()
        .then(function () { send({ type: "signal", data: { description: peer.localDescription.toJSON() } }); })
        .catch(function (e) { console.warn("offer failed", e); })
        .then(function () { makingOffer = false; });
    };
    peer.onconnectionstatechange = function () { note("state " + peer.connectionState); onConnectionState(peer); };
    peer.onsignalingstatechange = function () { note("signaling " + peer.signalingState); };
    note("new peer");
    if (screenTrack) { showOnVideoSender(screenTrack); }
    return peer;
  }
  function replaceTracks() {
    // Another device chosen mid-call: the same senders carry it. A kind that had no device before
    // (receive only) starts sending, which renegotiates.
    pc.getTransceivers().forEach(function (transceiver) {
      var sender = transceiver.sender, kind = transceiver.receiver.track.kind;
      if (screenTrack && sender.track === screenTrack) { return; }
      var next = localStream.getTracks().filter(function (track) { return track.kind === kind; })[0];
      if (!next) { return; }
      sender.replaceTrack(next);
      if (!sender.track || transceiver.direction === "recvonly") {
        if (sender.setStreams) { sender.setStreams(localStream); }
        transceiver.direction = "sendrecv";
      }
    });
  }
  function onSignal(data) {
    if (!inCall) { return; }
    if (data.presence === "join") {
      if (doctor) { newPeer(); } else { closePeer(); }  // the patient's peer comes with the doctor's offer
      send({ type: "signal", data: { presence: "here" } });
      return;
    }
    if (data.presence === "here") { if (doctor && !pc) { newPeer(); } return; }
    if (data.presence === "bye") { closePeer(); $("remote-video").srcObject = null; say("call-status", t.tCalling); peerLevel = 0; showQuality(); return; }
    if (!pc && !(data.description && data.description.type === "offer")) { return; }  // for a connection gone
    var peer = pc || newPeer(), polite = !!(hello && hello.polite);
    if (data.description) {
      var description = data.description;
      var ready = !makingOffer && (peer.signalingState === "stable" || settingAnswer);
      var collision = description.type === "offer" && !ready;
      ignoreOffer = !polite && collision;
      if (ignoreOffer) { note("offer ignored"); return; }
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
      peer.addIceCandidate(data.candidate).catch(function (e) { note("candidate refused"); if (!ignoreOffer) { console.warn("candidate refused", e); } });
    }
  }

  // -- recovery: ICE restart after a network change ---------------------------------------------------
  // "disconnected" often heals by itself; if it lasts DISCONNECTED_GRACE, or the network changes (a
  // phone moving from Wi-Fi to mobile data), new candidates are gathered on the same peer connection.
  var DISCONNECTED_GRACE = 3000, disconnectedTimer = null, offersMade = 0, iceRestarts = 0;
  function onConnectionState(peer) {
    var now = peer.connectionState;
    clearTimeout(disconnectedTimer);
    tell("room:connection", { state: now });
    if (now === "connected") { say("call-status", t.tConnected); applyLevel(); startQuality(); }
    else if (now === "failed") { restartIce(); }
    else if (now === "disconnected") {
      disconnectedTimer = setTimeout(function () { if (pc === peer && peer.connectionState === "disconnected") { restartIce(); } },
        DISCONNECTED_GRACE);
    }
  }
  function restartIce() {
    if (!pc || pc.connectionState === "closed") { return; }
    iceRestarts++;
    pc.restartIce();  // negotiationneeded follows: an offer with new ICE credentials
  }
  function rejoinIfStuck() {
    // The socket came back: an offer or answer sent while it was down was lost. Begin again if the
    // media is not flowing or a negotiation was left half done.
    signalQueue = signalQueue.then(function () { return devicesReady; }).then(function () {
      if (inCall && (!pc || pc.connectionState !== "connected" || pc.signalingState !== "stable")) {
        closePeer();  // the doctor's comes with the patient's "here", the patient's with the doctor's offer
        send({ type: "signal", data: { presence: "join" } });
      }
    });
  }
  function networkChanged() {
    if (!socket && !over && reconnectTimer) { clearTimeout(reconnectTimer); retry = 1000; connect(); }
    if (pc && pc.connectionState !== "new") { restartIce(); }
  }
  window.addEventListener("offline", function () { say("net-status", t.tOffline); });
  window.addEventListener("online", networkChanged);
  if (navigator.connection && navigator.connection.addEventListener) { navigator.connection.addEventListener("change", networkChanged); }

  // -- the quality ladder -------------------------------------------------------------------------------
  var Q = window.RoomQuality, QUALITY_EVERY = 4000;
  var ladder = Q.start(), lastTotals = null, qualityTimer = null, manualAudioOnly = false, peerLevel = 0, peerAudioOnly = false;
  function level() { return manualAudioOnly ? Q.AUDIO_ONLY : ladder.level; }
  function startQuality() {
    if (!qualityTimer) { qualityTimer = setInterval(measureQuality, QUALITY_EVERY); }
  }
  function measureQuality() {
    if (!pc || pc.connectionState !== "connected") { return; }
    pc.getStats().then(function (report) {
      var stats = [];
      report.forEach(function (s) { stats.push(s); });
      var measured = Q.measure(stats, lastTotals);
      lastTotals = measured.totals;
      onSample(measured.sample);
    }).catch(function () {});
  }
  function clamp(value, high, digits) {
    if (typeof value !== "number" || !isFinite(value)) { return null; }
    var factor = Math.pow(10, digits);
    return Math.round(Math.min(high, Math.max(0, value)) * factor) / factor;
  }
  function onSample(sample) {
    var before = level();
    ladder = Q.step(ladder, sample);
    if (level() !== before) { applyLevel(); }
    tell("room:level", { level: level(), weakAudioOnly: ladder.level === Q.AUDIO_ONLY });
    showQuality();
    send({ type: "quality", data: { rtt: clamp(sample.rtt, 60000, 0), loss: clamp(sample.loss, 100, 1),
      bitrate: clamp(sample.bitrate, 100000, 0), fps: clamp(sample.fps, 120, 1), level: level(), audioOnly: level() === Q.AUDIO_ONLY } });
  }
  function videoSender() {
    return pc && pc.getSenders().filter(function (sender) { return sender.track && sender.track.kind === "video"; })[0];
  }
  function applyLevel() {
    var sender = videoSender(), spec = Q.LEVELS[level()];
    if (sender) {
      var params = sender.getParameters();
      if (!params.encodings || !params.encodings.length) { params.encodings = [{}]; }
      var encoding = params.encodings[0];
      encoding.active = !spec.audioOnly;  // audio only: the video sender pauses, the microphone goes on
      if (!spec.audioOnly) {
        encoding.scaleResolutionDownBy = spec.scale;
        encoding.maxFramerate = spec.fps;
        encoding.maxBitrate = spec.kbps * 1000;
      }
      sender.setParameters(params).catch(function (e) { console.warn("quality step not applied", e); });
    }
    pressed("toggle-audio-only", manualAudioOnly);  // the ladder's own audio only is not a choice to undo
    showQuality();
  }
  function onPeerQuality(event) {
    peerLevel = typeof event.level === "number" ? event.level : 0;
    peerAudioOnly = !!event.audioOnly;
    showQuality();
  }
  function showQuality() {
    var mine = level(), worst = Math.max(mine, peerLevel), sentence = "";
    if (manualAudioOnly) { sentence = t.tAudioOnlyChosen; }
    else if (mine === Q.AUDIO_ONLY) { sentence = t.tWeakAudioOnly; }
    else if (peerAudioOnly) { sentence = t.tPeerAudioOnly; }
    else if (worst > 0) { sentence = t.tWeak; }
    var signal = $("signal");
    if (signal) {
      signal.dataset.level = String(worst);
      signal.title = worst === 0 ? t.tSignalGood : (worst === Q.AUDIO_ONLY ? t.tSignalBad : t.tSignalFair);
      signal.setAttribute("aria-label", signal.title);
    }
    say("quality-status", sentence);
  }

  // -- the media toggles ----------------------------------------------------------------------------------
  function pressed(id, on) {
    var button = $(id);
    if (!button) { return; }
    button.setAttribute("aria-pressed", on ? "true" : "false");
    button.textContent = on ? button.dataset.on : button.dataset.off;
  }
  function toggleTrack(kind, id) {
    var tracks = localStream ? (kind === "audio" ? localStream.getAudioTracks() : localStream.getVideoTracks()) : [];
    if (!tracks.length) { return; }
    var off = tracks[0].enabled;
    tracks.forEach(function (track) { track.enabled = !off; });
    pressed(id, off);
  }
  function bindToggles() {
    $("toggle-microphone").addEventListener("click", function () { toggleTrack("audio", "toggle-microphone"); });
    $("toggle-camera").addEventListener("click", function () { toggleTrack("video", "toggle-camera"); });
    $("toggle-audio-only").addEventListener("click", function () {
      manualAudioOnly = !manualAudioOnly;
      applyLevel();
      measureQuality();  // tells the other side now, not at the next sample
    });
    var share = $("toggle-share");
    if (share) {
      share.hidden = !(navigator.mediaDevices && navigator.mediaDevices.getDisplayMedia);
      share.addEventListener("click", function () { if (screenTrack) { stopSharing(); } else { shareScreen(); } });
    }
  }

  // -- screen sharing (the doctor) ---------------------------------------------------------------------
  // The screen replaces the camera on the same video sender (replaceTrack): no new offer, the other
  // side's video element simply shows the screen. Sharing stops from our button or the browser's own
  // "stop sharing" (the track's ended event); the camera comes back the same way.
  var screenTrack = null;
  function showOnVideoSender(track) {
    var sender = pc && pc.getTransceivers().filter(function (tr) {
      return tr.receiver.track && tr.receiver.track.kind === "video" && tr.sender;
    })[0];
    return sender ? sender.sender.replaceTrack(track) : Promise.resolve();
  }
  function shareScreen() {
    navigator.mediaDevices.getDisplayMedia({ video: { frameRate: { ideal: 5, max: 15 } }, audio: false })
      .then(function (stream) {
        screenTrack = stream.getVideoTracks()[0];
        screenTrack.contentHint = "detail";  // text stays sharp; the frame rate gives way first
        screenTrack.addEventListener("ended", stopSharing);
        $("self-small").srcObject = stream;
        pressed("toggle-share", true);
        return showOnVideoSender(screenTrack);
      })
      .catch(function (e) { if (screenTrack) { stopSharing(); } console.warn("screen sharing not started", e); });
  }
  function stopSharing() {
    var track = screenTrack;
    screenTrack = null;
    if (track) { track.removeEventListener("ended", stopSharing); track.stop(); }
    var camera = localStream && localStream.getVideoTracks()[0];
    showOnVideoSender(camera || null);
    $("self-small").srcObject = localStream;
    pressed("toggle-share", false);
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
    if (message.file) { chatFileLink(item, message.file); }
    item.dataset.seq = message.seq;
    if (message.mine) { item.className = "chat-mine"; }
    list.insertBefore(item, list.querySelector("[data-pending]"));
    after = Math.max(after, message.seq);
  }
  function chatFileLink(item, url) {  // a file shared in the chat: its text is the document's title
    var link = document.createElement("a");
    link.href = url; link.target = "_blank"; link.rel = "noopener"; link.className = "chat-file-link";
    link.textContent = item.lastChild.textContent;
    item.replaceChild(link, item.lastChild);
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
  bindToggles();
  // For the tests (and a curious support person): the peer connection, the ladder fed by hand, the
  // offers made and ICE restarts done, the socket dropped as a network would.
  window.__roomPeer = function () { return pc; };
  window.__roomQuality = {
    feed: function (sample) { clearInterval(qualityTimer); qualityTimer = -1; onSample(sample); return window.__roomQuality.state(); },
    state: function () { return { level: level(), ladder: ladder.level, peer: peerLevel, offers: offersMade, iceRestarts: iceRestarts }; }
  };
  window.__roomTrail = function () { return trail; };
  window.__roomSocketDrop = function () { if (socket) { socket.close(); } };
  window.addEventListener("pagehide", function () { send({ type: "signal", data: { presence: "bye" } }); });
  openDevices();
  if (doctor) { connect(); }  // the doctor sees the waiting room live from the start
})();
