// The video room's quality ladder, as pure functions (no page, no WebRTC): room.js feeds them what
// getStats reports every few seconds and applies the step they choose; a test can feed them recorded
// stats (window.RoomQuality). Steps: 0 the starting picture (320x240, 15 fps, 250 kbps) .. 2 a small,
// slow picture; 3 audio only (the video sender paused). Hysteresis: down after BAD_TO_STEP_DOWN bad
// samples in a row, up after GOOD_TO_STEP_UP good ones, so a link at the edge does not flap.
(function (global) {
  "use strict";
  var LEVELS = [
    { scale: 1, fps: 15, kbps: 250 },
    { scale: 1.5, fps: 10, kbps: 150 },
    { scale: 2, fps: 7, kbps: 80 },
    { audioOnly: true, kbps: 0 }
  ];
  var AUDIO_ONLY = LEVELS.length - 1, BAD_TO_STEP_DOWN = 2, GOOD_TO_STEP_UP = 5;
  var BAD = { rtt: 400, loss: 5, dropped: 0.25 }, GOOD = { rtt: 250, loss: 2 };

  function known(value) { return typeof value === "number" && isFinite(value); }

  // "bad", "good" or "fair" for one sample at `level`. The available outgoing bitrate only counts while
  // video is sent: audio alone makes the estimate small, and stepping up is the probe.
  function verdict(sample, level) {
    var need = LEVELS[level].kbps, above = LEVELS[Math.max(0, level - 1)].kbps;
    var sendsVideo = level < AUDIO_ONLY;
    if ((known(sample.rtt) && sample.rtt > BAD.rtt) || (known(sample.loss) && sample.loss > BAD.loss) ||
        (known(sample.dropped) && sample.dropped > BAD.dropped) ||
        (sendsVideo && known(sample.bitrate) && sample.bitrate < need * 0.8)) {
      return "bad";
    }
    var calm = (!known(sample.rtt) || sample.rtt < GOOD.rtt) && (!known(sample.loss) || sample.loss < GOOD.loss);
    var roomAbove = !sendsVideo || !known(sample.bitrate) || sample.bitrate >= above * 1.2;
    return calm && roomAbove ? "good" : "fair";
  }

  function start() { return { level: 0, bad: 0, good: 0, verdict: "good" }; }

  // The ladder's next state after one sample.
  function step(state, sample) {
    var v = verdict(sample, state.level);
    var bad = v === "bad" ? state.bad + 1 : 0, good = v === "good" ? state.good + 1 : 0;
    if (bad >= BAD_TO_STEP_DOWN && state.level < AUDIO_ONLY) { return { level: state.level + 1, bad: 0, good: 0, verdict: v }; }
    if (good >= GOOD_TO_STEP_UP && state.level > 0) { return { level: state.level - 1, bad: 0, good: 0, verdict: v }; }
    return { level: state.level, bad: bad, good: good, verdict: v };
  }

  // One sample from a getStats report (an array of its stats objects) and the totals of the previous
  // one: {sample: {rtt ms, loss %, bitrate kbps available to send, fps received, dropped share}, totals}.
  function measure(stats, previous) {
    var byId = {}, pairId = null, sample = { rtt: null, loss: null, bitrate: null, fps: null, dropped: null };
    var totals = { at: 0, decoded: 0, droppedFrames: 0, lost: 0, received: 0 }, remoteLoss = null;
    stats.forEach(function (s) {
      byId[s.id] = s;
      if (s.type === "transport" && s.selectedCandidatePairId) { pairId = s.selectedCandidatePairId; }
    });
    stats.forEach(function (s) {
      if (!pairId && s.type === "candidate-pair" && s.nominated && s.state === "succeeded") { pairId = s.id; }
      if (s.type === "remote-inbound-rtp") {
        if (known(s.fractionLost)) { remoteLoss = Math.max(remoteLoss || 0, s.fractionLost * 100); }
        if (sample.rtt === null && known(s.roundTripTime)) { sample.rtt = s.roundTripTime * 1000; }
      }
      if (s.type === "inbound-rtp") {
        totals.lost += s.packetsLost || 0;
        totals.received += s.packetsReceived || 0;
        if (s.kind === "video") {
          totals.at = s.timestamp;
          totals.decoded = s.framesDecoded || 0;
          totals.droppedFrames = s.framesDropped || 0;
        }
      }
    });
    var pair = pairId && byId[pairId];
    if (pair) {
      if (known(pair.currentRoundTripTime)) { sample.rtt = pair.currentRoundTripTime * 1000; }
      if (known(pair.availableOutgoingBitrate)) { sample.bitrate = pair.availableOutgoingBitrate / 1000; }
    }
    var receivedLoss = null;
    if (previous) {
      var lost = totals.lost - previous.lost, received = totals.received - previous.received;
      if (lost + received > 0) { receivedLoss = Math.max(0, lost) * 100 / (Math.max(0, lost) + received); }
      var seconds = (totals.at - previous.at) / 1000, decoded = totals.decoded - previous.decoded;
      var dropped = totals.droppedFrames - previous.droppedFrames;
      if (seconds > 0) { sample.fps = Math.max(0, decoded) / seconds; }
      if (decoded + dropped > 0) { sample.dropped = Math.max(0, dropped) / (decoded + dropped); }
    }
    if (remoteLoss !== null || receivedLoss !== null) { sample.loss = Math.max(remoteLoss || 0, receivedLoss || 0); }
    return { sample: sample, totals: totals };
  }

  global.RoomQuality = { LEVELS: LEVELS, AUDIO_ONLY: AUDIO_ONLY, start: start, step: step, verdict: verdict, measure: measure };
})(window);
