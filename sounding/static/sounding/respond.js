// Smooths the respondent pages; every screen works as a plain form without this file.
// Answers are posted in the background and retried, a tap on a single choice moves on,
// digits pick a score and Enter goes to the next question.
(function () {
  "use strict";
  var screen = document.getElementById("screen");
  if (!screen || !window.fetch || !window.history.pushState) return;
  var busy = false;
  var digits = "";
  var digitTimer = null;

  function snapshot() {
    return { html: screen.innerHTML, attrs: screenAttrs(screen), title: document.title };
  }

  function screenAttrs(el) {
    var out = {};
    for (var i = 0; i < el.attributes.length; i++) {
      var a = el.attributes[i];
      if (a.name.indexOf("data-") === 0) out[a.name] = a.value;
    }
    return out;
  }

  function show(state, focusError) {
    screen.innerHTML = state.html;
    Object.keys(screenAttrs(screen)).forEach(function (n) { screen.removeAttribute(n); });
    Object.keys(state.attrs).forEach(function (n) { screen.setAttribute(n, state.attrs[n]); });
    document.title = state.title;
    var target = focusError && screen.querySelector("[aria-invalid=true] input, [aria-invalid=true]");
    (target || screen.querySelector("h1") || screen).setAttribute("tabindex", "-1");
    (target || screen.querySelector("h1") || screen).focus();
    syncOther(false);
  }

  // The "Other" text box appears once Other is picked (or already holds text), so a list of
  // choices is not interrupted by a box most people never use. Without this script it is
  // always shown.
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

  function send(form, body, attempt) {
    return fetch(form.getAttribute("action") || location.href, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "X-Requested-With": "fetch" }
    }).then(function (res) {
      if (res.status >= 500 || res.status === 429) throw new Error("retry");
      return res.text().then(function (text) { return { ok: res.ok, text: text }; });
    }).catch(function () {
      if (attempt >= 6) throw new Error("offline");
      status(form, form.dataset.retrying || "Connection lost. Retrying…");
      var wait = Math.min(8000, 500 * Math.pow(2, attempt));
      return new Promise(function (r) { setTimeout(r, wait); }).then(function () {
        return send(form, body, attempt + 1);
      });
    });
  }

  function go(next, doc, ok) {
    var state = { html: next.innerHTML, attrs: screenAttrs(next), title: doc.title };
    if (ok) history.pushState(state, "", next.getAttribute("data-url") || location.href);
    else history.replaceState(state, "", location.href);
    show(state, !ok);
  }

  function submit(form, submitter) {
    if (busy) return;
    busy = true;
    var data = new FormData(form);
    if (submitter && submitter.name) data.append(submitter.name, submitter.value);
    var buttons = form.querySelectorAll("button");
    buttons.forEach(function (b) { b.disabled = true; });
    send(form, new URLSearchParams(data), 0).then(function (result) {
      var doc = new DOMParser().parseFromString(result.text, "text/html");
      var next = doc.getElementById("screen");
      if (!next) { location.reload(); return; }
      go(next, doc, result.ok);
    }).catch(function () {
      status(form, form.dataset.failed || "Your answer could not be sent. Check your connection and try again.");
      buttons.forEach(function (b) { b.disabled = false; });
    }).then(function () { busy = false; });
  }

  screen.addEventListener("submit", function (e) {
    e.preventDefault();
    submit(e.target, e.submitter || e.target.querySelector("button.next"));
  });

  // Arrow keys also change a radio group; only a tap or click should move on by itself.
  var tapped = 0;
  screen.addEventListener("pointerdown", function () { tapped = Date.now(); });

  screen.addEventListener("change", function (e) {
    var form = e.target.form;
    if (e.target.type === "radio" || e.target.type === "checkbox" || e.target.tagName === "SELECT") {
      syncOther(true);
    }
    if (!form || !form.hasAttribute("data-auto") || e.target.type !== "radio") return;
    if (Date.now() - tapped > 1500) return;
    // A short pause lets the respondent see what they picked before the screen moves on.
    setTimeout(function () { submit(form, form.querySelector("button.next")); }, 180);
  });

  document.addEventListener("keydown", function (e) {
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
        if (input) {
          input.checked = true;
          input.focus();
          setTimeout(function () { submit(form, form.querySelector("button.next")); }, 180);
        }
        digits = "";
      };
      if (form.querySelector(".scale input[value='" + digits + "']") && digits.length === 2) pick(digits);
      else if (digits === "1" && form.querySelector(".scale input[value='10']")) digitTimer = setTimeout(function () { pick("1"); }, 600);
      else pick(e.key);
    }
  });

  // A score the link carried is shown selected, not stored (mail scanners open every link).
  // A tap or key anywhere confirms it, or the page staying visible a few seconds (which the
  // server refuses for clicks that look like a scanner's); the person stays on the screen.
  function confirmOffered() {
    var form = screen.querySelector("form[data-confirm-after]");
    if (!form) return;
    var wait = 1000 * form.getAttribute("data-confirm-after"), seen = 0, last = Date.now();
    var timer = setInterval(function () {
      var now = Date.now();
      if (document.visibilityState === "visible") seen += now - last;
      last = now;
      if (wait && seen >= wait) confirm("timer");
    }, 250);
    function stop() {
      clearInterval(timer);
      ["pointerdown", "keydown"].forEach(function (t) { document.removeEventListener(t, touched, true); });
    }
    function touched(e) {
      // Choices, buttons and the answer keys answer by themselves.
      var own = e.target.closest && e.target.closest("input,select,textarea,button,label,a");
      if (!e.isTrusted || own || (e.type === "keydown" && /^([0-9]|Enter| )$/.test(e.key))) stop();
      else confirm("touch");
    }
    function confirm(via) {
      stop();
      if (busy || !form.isConnected) return;
      busy = true;
      var data = new FormData(form);
      data.append("nav", "stay");
      data.append("via", via);
      send(form, new URLSearchParams(data), 0).then(function (result) {
        var doc = new DOMParser().parseFromString(result.text, "text/html");
        var next = doc.getElementById("screen");
        if (!next || !form.isConnected) return;
        if (next.getAttribute("data-screen") !== "question") return go(next, doc, true);
        // Kept on screen: take the response's token and the server's note.
        form.r.value = next.querySelector("[name=r]").value;
        form.querySelector(".status").textContent = next.querySelector("form .status").textContent;
        if (!next.querySelector("[name=from_link]")) form.from_link.remove();
      }).catch(function () {}).then(function () { busy = false; });
    }
    ["pointerdown", "keydown"].forEach(function (t) { document.addEventListener(t, touched, true); });
  }

  window.addEventListener("popstate", function (e) {
    if (e.state && e.state.html) show(e.state, false);
  });
  syncOther(false);
  confirmOffered();
  // Drop answers carried by the link from the address bar, so a reload cannot re-apply them.
  history.replaceState(snapshot(), "", screen.getAttribute("data-url") || location.href);
})();
