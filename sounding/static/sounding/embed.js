// The respondent pages inside a message (`data-embed`): tells the message around the
// page what happened, from respond.js's events. Any origin may read these notes (the site
// showing the message is the customer's), so they carry only a question key, the end, or a
// height: never an answer or a token.
(function () {
  "use strict";
  var embed = document.body.getAttribute("data-embed");
  if (!embed || window.parent === window) return;
  function tell(note) { window.parent.postMessage(note, "*"); }

  // The form data of an answer stored: a question answered, unless a skip or a step back.
  document.addEventListener("sounding:answered", function (e) {
    var data = e.detail;
    if (data.get("nav") === "back") return;
    var given = data.getAll("a").concat(data.getAll("other")).some(function (v) {
      return String(v).trim() && v !== "__other__";
    });
    if (given) tell({ sounding: "answered", question: data.get("q") });
  });
  function shown() {
    var screen = document.getElementById("screen");
    if (!screen || screen.getAttribute("data-screen") !== "done") return;
    var close = screen.querySelector("[data-close]");
    if (close) close.hidden = false;
    tell({ sounding: "done" });
  }
  document.addEventListener("sounding:shown", shown);
  document.addEventListener("click", function (e) {
    if (e.target.closest && e.target.closest("[data-close]")) tell({ sounding: "close" });
  });

  // A banner is as tall as its screen: its snippet sizes the frame to what the page says.
  var height = 0;
  function measure() {
    var now = Math.ceil(document.body.getBoundingClientRect().height);
    if (now !== height) tell({ sounding: "height", height: (height = now) });
  }
  if (embed === "banner" && window.ResizeObserver) new ResizeObserver(measure).observe(document.body);
  shown();
})();
