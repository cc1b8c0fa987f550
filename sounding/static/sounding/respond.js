// Smooths the respondent pages, which work as plain forms without it: answers are posted in
// the background and retried, a tap on a single choice moves on, digits pick a score, Enter
// goes on. Screens come from the server, built from the stored answers: the history holds
// only their URLs, fetched again on Back and Forward (an old copy could undo a change).
// It announces each answer stored and each screen shown (`sounding:answered`, `sounding:shown`
// on the document) for embed.js, which tells a message around the page.
(function () {
  "use strict";
  var screen = document.getElementById("screen");
  if (!screen || !window.fetch || !window.history.pushState) return;
  // A tap on a single choice moves on AUTO ms later; a second tap (double tap, bounce) comes
  // a few hundred ms after the first and would answer a question nobody read. A new screen
  // ignores input for GUARD ms: reading a question and choosing takes longer than that.
  var AUTO = 180, GUARD = 500;
  var busy = false; // an answer is being sent or a screen fetched
  var guarded = false; // a screen was just shown
  var guardTimer, digitTimer;
  var flight = Promise.resolve(); // the answer being sent: a fetched screen comes after it
  var turn = 0; // only the latest answer or fetch shows its screen
  var shown = 0; // screens shown: a tap begun on one never acts on the next
  var downOn = -1, tapped = 0, digits = "";
  // In a frame, the screens replace each other in the history: Back in the site around a
  // message must leave the site's page, not step through the survey.
  var step = document.body.hasAttribute("data-embed") ? "replaceState" : "pushState";

  function tell(name, key) {
    document.dispatchEvent(new CustomEvent("sounding:" + name, { detail: key }));
  }


  function calm() { return !busy && !guarded; }

  // data-wait: input is ignored (and the stylesheet lets taps through).
  function wait(on) {
    if (on) screen.setAttribute("data-wait", "");
    else if (calm()) screen.removeAttribute("data-wait");
  }

  function show(doc, focusError) {
    var next = document.importNode(doc.getElementById("screen"), true);
    screen.replaceWith(next);
    screen = next;
    document.title = doc.title;
    shown++;
    guarded = true;
    wait(true);
    clearTimeout(guardTimer);
    guardTimer = setTimeout(function () { guarded = false; wait(false); }, GUARD);
    var target = (focusError && screen.querySelector("[aria-invalid=true] input, [aria-invalid=true]")) || screen.querySelector("h1") || screen;
    target.setAttribute("tabindex", "-1");
    target.focus();
    syncOther(false);
    tell("shown");
  }

  // The "Other" box shows once Other is picked (or holds text): most people never use it.
  // Without this script it is always shown.
  function syncOther(focus) {
    var box = screen.querySelector("label.other");
    var pick = screen.querySelector("input[value='__other__'], option[value='__other__']");
    if (!box || !pick) return;
    var input = box.querySelector("input");
    var on = pick.tagName === "OPTION" ? pick.selected : pick.checked;
    box.hidden = !on && !input.value;
    if (on && focus) input.focus();
  }

  function status(form, text) {
    var el = form.querySelector(".status");
    if (!el) {
      el = document.createElement("p");
      el.className = "status";
      el.setAttribute("role", "status");
      form.appendChild(el);
    }
    el.textContent = text;
  }

  function later(ms) { return new Promise(function (r) { setTimeout(r, ms); }); }

  // `ms` later, or as soon as the browser says the connection is back.
  function online(ms) {
    return new Promise(function (resolve) {
      var timer = setTimeout(go, ms);
      function go() { clearTimeout(timer); window.removeEventListener("online", go); resolve(); }
      window.addEventListener("online", go);
    });
  }

  function request(url, init) {
    init.credentials = "same-origin";
    init.headers = { "X-Requested-With": "fetch" };
    return fetch(url, init).then(function (res) {
      if (res.status >= 500 || res.status === 429) throw new Error("retry");
      return res.text().then(function (text) {
        return { ok: res.ok, doc: new DOMParser().parseFromString(text, "text/html") };
      });
    });
  }

  // Offline, an answer waits for the connection however long it takes; only failures online
  // count towards giving up. Sent twice, it is stored once (one answer per question).
  function send(form, body, attempt, waits) {
    waits = waits || 0;
    return request(form.getAttribute("action") || location.href, { method: "POST", body: body }).catch(function () {
      var offline = navigator.onLine === false;
      if (!offline && attempt >= 6) throw new Error("offline");
      status(form, form.dataset.retrying);
      return online(Math.min(8000, 500 * Math.pow(2, waits))).then(function () {
        return send(form, body, offline ? attempt : attempt + 1, waits + 1);
      });
    });
  }

  // Show a reply's screen unless a newer one is due; `how` records its URL in the history.
  function arrive(result, mine, how) {
    if (mine !== turn) return;
    var next = result.doc.getElementById("screen");
    if (!next) { location.reload(); return; }
    var url = next.getAttribute("data-url");
    if (how && url) history[how](null, "", url);
    show(result.doc, !result.ok);
  }

  function release(mine) {
    if (mine === turn) { busy = false; wait(false); }
  }

  // Send the form's answer after `pause` ms (taking no input meanwhile); show the next screen.
  function submit(form, submitter, pause) {
    if (!calm()) return;
    busy = true;
    wait(true);
    var mine = ++turn;
    var data = new FormData(form);
    if (submitter && submitter.name) data.append(submitter.name, submitter.value);
    var buttons = form.querySelectorAll("button");
    buttons.forEach(function (b) { b.disabled = true; });
    flight = later(pause || 0).then(function () {
      return send(form, new URLSearchParams(data), 0);
    }).then(function (result) {
      if (result.ok) tell("answered", data);
      arrive(result, mine, result.ok ? step : "");
    }).catch(function () {
      status(form, form.dataset.failed);
      buttons.forEach(function (b) { b.disabled = false; });
    }).then(function () { release(mine); });
  }

  // Back and Forward: the screen at that URL as stored now, once any answer sent is in. It
  // may be another (a changed answer hides a question): the address then names that one.
  function load(url) {
    busy = true;
    wait(true);
    var mine = ++turn;
    flight = flight.then(function () {
      return request(url, { method: "GET" });
    }).then(function (result) {
      arrive(result, mine, "replaceState");
    }).catch(function () {
      location.reload();
    }).then(function () { release(mine); });
  }

  // Input while the screen waits is dropped, and a click whose pointer went down on an
  // earlier screen (a click from the keyboard has detail 0).
  function drop(e) { e.preventDefault(); e.stopImmediatePropagation(); }
  document.addEventListener("pointerdown", function (e) {
    if (!calm()) return drop(e);
    downOn = shown;
    tapped = Date.now();
  }, true);
  document.addEventListener("click", function (e) {
    if (!calm() || (e.detail > 0 && downOn !== shown)) drop(e);
  }, true);
  document.addEventListener("submit", function (e) {
    e.preventDefault();
    submit(e.target, e.submitter || e.target.querySelector("button.next"));
  });

  document.addEventListener("change", function (e) {
    var form = e.target.form;
    if (e.target.type === "radio" || e.target.type === "checkbox" || e.target.tagName === "SELECT") {
      syncOther(true);
    }
    if (!form || !form.hasAttribute("data-auto") || e.target.type !== "radio") return;
    // Arrow keys also change a radio group; only a tap or click should move on by itself.
    if (Date.now() - tapped > 1500) return;
    // A short pause lets the respondent see what they picked before the screen moves on.
    submit(form, form.querySelector("button.next"), AUTO);
  });

  document.addEventListener("keydown", function (e) {
    if (!calm()) { if (e.key !== "Tab") drop(e); return; }
    var form = screen.querySelector("form");
    if (!form || e.altKey || e.ctrlKey || e.metaKey) return;
    var tag = (e.target.tagName || "").toLowerCase();
    var typing = tag === "textarea" || (tag === "input" && /text|email|number|date/.test(e.target.type)) || tag === "select";
    if (e.key === "Enter" && !typing && tag !== "button" && tag !== "a") {
      e.preventDefault();
      submit(form, form.querySelector("button.next"));
    } else if (/^[0-9]$/.test(e.key) && !typing && form.querySelector(".scale")) {
      // "1" then "0" within a moment picks 10 on an NPS scale.
      digits = (digits + e.key).slice(-2);
      clearTimeout(digitTimer);
      var pick = function (value) {
        var input = form.querySelector(".scale input[value='" + value + "']");
        digits = "";
        if (!input || !calm() || !form.isConnected) return;
        input.checked = true;
        input.focus();
        submit(form, form.querySelector("button.next"), AUTO);
      };
      if (form.querySelector(".scale input[value='" + digits + "']") && digits.length === 2) pick(digits);
      else if (digits === "1" && form.querySelector(".scale input[value='10']")) digitTimer = setTimeout(function () { pick("1"); }, 600);
      else pick(e.key);
    }
  }, true);

  // A score the link carried is shown selected, not stored: mail scanners open every link.
  // A tap or key anywhere confirms it, or the page staying visible a few seconds (refused by
  // the server for clicks that look like a scanner's); the person stays on the screen.
  function confirmOffered() {
    var form = screen.querySelector("form[data-confirm-after]");
    if (!form) return;
    var after = 1000 * form.getAttribute("data-confirm-after"), seen = 0, last = Date.now();
    var timer = setInterval(function () {
      var now = Date.now();
      if (document.visibilityState === "visible") seen += now - last;
      last = now;
      if (after && seen >= after) confirm("timer");
    }, 250);
    var kinds = ["pointerdown", "keydown"];
    function stop() {
      clearInterval(timer);
      kinds.forEach(function (t) { document.removeEventListener(t, touched, true); });
    }
    function touched(e) {
      // Choices, buttons and the answer keys answer by themselves.
      var own = e.target.closest && e.target.closest("input,select,textarea,button,label,a");
      if (!e.isTrusted || own || (e.type === "keydown" && /^([0-9]|Enter| )$/.test(e.key))) stop();
      else confirm("touch");
    }
    function confirm(via) {
      stop();
      if (!calm() || !form.isConnected) return;
      busy = true;
      var mine = ++turn, data = new FormData(form);
      data.append("nav", "stay");
      data.append("via", via);
      flight = send(form, new URLSearchParams(data), 0).then(function (result) {
        var next = result.doc.getElementById("screen");
        if (result.ok) tell("answered", data);
        if (!next || next.getAttribute("data-screen") !== "question") return arrive(result, mine, step);
        // Kept on screen: the response's token and the server's note.
        form.r.value = next.querySelector("[name=r]").value;
        form.querySelector(".status").textContent = next.querySelector("form .status").textContent;
        if (!next.querySelector("[name=from_link]")) form.from_link.remove();
      }).catch(function () {}).then(function () { release(mine); });
    }
    kinds.forEach(function (t) { document.addEventListener(t, touched, true); });
  }

  window.addEventListener("popstate", function () { load(location.href); });
  // A page from the back-forward cache is as old as when it was left.
  window.addEventListener("pageshow", function (e) { if (e.persisted) location.reload(); });
  syncOther(false);
  confirmOffered();
  tell("shown");
  // The address names this screen, without the answers the link carried.
  history.replaceState(null, "", screen.getAttribute("data-url") || location.href);
})();
