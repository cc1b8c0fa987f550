  // Braze sets window.brazeBridge, then sends ab.BridgeReady. Outside Braze (a plain browser)
  // the calls wait for a bridge that never comes, and the survey works as ever.
  var waiting = [];
  function bridge(call) {
    if (!window.brazeBridge) { waiting.push(call); return; }
    try { call(window.brazeBridge); } catch (e) { /* a bridge call never breaks the survey */ }
  }
  window.addEventListener("ab.BridgeReady", function () {
    var calls = waiting;
    waiting = [];
    calls.forEach(bridge);
  });
  // Only the survey's own frame, from the survey's own origin, may speak to Braze.
  function listen(frame, handle) {
    window.addEventListener("message", function (e) {
      if (e.origin !== ORIGIN || e.source !== frame.contentWindow) return;
      var note = e.data;
      if (note && typeof note === "object" && typeof note.sounding === "string") handle(note);
    });
  }
