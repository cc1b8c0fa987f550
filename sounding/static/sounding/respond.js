// Smooths the respondent pages, which work as plain forms without it. Screens show the stored
// answers: the server's pages, or its blank screens (the first reply brings them) filled from
// the JSON reply to an answer. The history holds only URLs, fetched again on Back and Forward
// (an old copy could undo a change). `sounding:answered` and `sounding:shown` are for embed.js.
(function () {
  "use strict";
  var screen = document.getElementById("screen");
  if (!screen || !window.fetch || !window.history.pushState) return;
  // A tap on a single choice moves on AUTO ms later; a second tap (double tap, bounce) would
  // answer a question nobody read, so a new screen ignores input for GUARD ms.
  var AUTO = 180, GUARD = 500;
  var busy = false; // an answer is being sent or a screen fetched
  var guarded = false; // a screen was just shown
  var guardTimer, digitTimer;
  var flight = Promise.resolve(); // the answer being sent: a fetched screen comes after it
  var turn = 0; // only the latest answer or fetch shows its screen
  var shown = 0; // screens shown: a tap begun on one never acts on the next
  var downOn = -1, tapped = 0, digits = "", held;
  // In a frame, Back in the site around a message must leave it, not step through the survey.
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

  // A blank screen, with what the reply says depends on the answers.
  function fill(t, r, form) {
    var next = document.importNode(t.content, true).firstElementChild, f = next.querySelector("form");
    next.setAttribute("data-url", r.url);
    f.setAttribute("action", form.getAttribute("action"));
    f.r.value = r.r;
    next.querySelector(".count").textContent = r.count;
    next.querySelector("rect").setAttribute("width", r.percent + "%");
    f.querySelector(".next").textContent = r.button;
    if (!r.can_go_back) f.querySelector(".back").remove();
    f.querySelectorAll("[name=a]").forEach(function (el) {
      if (/radio|checkbox/.test(el.type)) el.checked = r.values.indexOf(el.value) >= 0;
      else el.value = r.values[0] || "";
    });
    if (f.other) f.other.value = r.other;
    return next;
  }

  function show(next, title, focusError) {
    screen.replaceWith(next);
    screen = next;
    document.title = title;
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

  // The "Other" box shows once Other is picked (or holds text); without this script, always.
  function syncOther(focus) {
    var box = screen.querySelector("label.other");
    var pick = screen.querySelector("input[value='__other__'], option[value='__other__']");
    if (!box || !pick) return;
    var input = box.querySelector("input");
    var on = pick.selected || pick.checked;
    box.hidden = !on && !input.value;
    if (on && focus) input.focus();
  }

  function status(form, text) {
    if (!form.querySelector(".status")) form.insertAdjacentHTML("beforeend", '<p class="status" role="status"></p>');
    form.querySelector(".status").textContent = text;
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

  function request(url, init, json) {
    init.credentials = "same-origin";
    init.headers = json ? { "Content-Type": "application/json" } : { "X-Requested-With": "fetch" };
    return fetch(url, init).then(function (res) {
      if (res.status >= 500 || res.status === 429) throw new Error("retry");
      return res.text().then(function (text) {
        return { ok: res.ok, doc: json ? JSON.parse(text) : new DOMParser().parseFromString(text, "text/html") };
      });
    });
  }

  // Offline, an answer waits for the connection; only failures online count towards giving
  // up. Sent twice, it is stored once (one answer per question).
  function send(form, body, attempt, waits) {
    var json = typeof body === "string", url = new URL(form.action);
    if (json) url.pathname += "/answers";
    waits = waits || 0;
    return request(url, { method: "POST", body: body }, json).catch(function () {
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
    show(document.importNode(next, true), result.doc.title, !result.ok);
  }

  // A JSON reply: the next screen held, or the server's page (a message: the form sent again).
  function onward(result, form, data, mine) {
    var r = result.doc;
    if (r.screens) held = new DOMParser().parseFromString(r.screens, "text/html");
    var t = result.ok && !r.message && held && held.querySelector("template[data-key='" + r.next + "']");
    if (mine !== turn) return;
    if (r.page && result.ok && !r.message) return arrive({ ok: true, doc: new DOMParser().parseFromString(r.page, "text/html") }, mine, step);
    if (t) {
      history[step](null, "", r.url);
      return show(fill(t, r, form), t.getAttribute("data-title"));
    }
    return (result.ok && !r.message ? request(r.url, { method: "GET" }) : send(form, new URLSearchParams(data), 0)).then(function (page) {
      arrive(page, mine, page.ok ? step : "");
    });
  }

  function begin() {
    busy = true;
    wait(true);
    return ++turn;
  }

  function release(mine) {
    if (mine === turn) { busy = false; wait(false); }
  }

  // Send the form's answer after `pause` ms (taking no input meanwhile); show the next screen.
  function submit(form, submitter, pause) {
    if (!calm()) return;
    var mine = begin();
    var data = new FormData(form);
    if (submitter && submitter.name) data.append(submitter.name, submitter.value);
    var buttons = form.querySelectorAll("button");
    buttons.forEach(function (b) { b.disabled = true; });
    var quick = screen.hasAttribute("data-answers") && !form.from_link, json = Object.fromEntries(data);
    json.a = data.getAll("a");
    json.screens = !held;
    flight = later(pause || 0).then(function () {
      return send(form, quick ? JSON.stringify(json) : new URLSearchParams(data), 0);
    }).then(function (result) {
      if (result.ok) tell("answered", data);
      if (quick) return onward(result, form, data, mine);
      arrive(result, mine, result.ok ? step : "");
    }).catch(function () {
      status(form, form.dataset.failed);
      buttons.forEach(function (b) { b.disabled = false; });
    }).then(function () { release(mine); });
  }

  // Back and Forward: the screen at that URL as stored now, once any answer sent is in (it
  // may be another, which the address then names).
  function load(url) {
    var mine = begin();
    flight = flight.then(function () {
      return request(url, { method: "GET" });
    }).then(function (result) {
      arrive(result, mine, "replaceState");
    }).catch(function () {
      location.reload();
    }).then(function () { release(mine); });
  }

  // Dropped: input while the screen waits, a click begun on an earlier screen (keyboard: 0).
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
    if (/radio|checkbox|select/.test(e.target.type)) syncOther(true);
    if (!form || !form.hasAttribute("data-auto") || e.target.type !== "radio") return;
    // Only a tap or click moves on by itself (arrow keys change a radio group too), after a
    // pause to see the pick.
    if (Date.now() - tapped > 1500) return;
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

  // A score the link carried is shown, not stored: mail scanners open every link. A tap or
  // key anywhere confirms it, or a few seconds in view (not for a scanner-like click).
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
