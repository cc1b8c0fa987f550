// Small comforts for the signed-in app; every page works without this file.
(function () {
  "use strict";

  // Copy buttons: shown only when this script runs, since they do nothing without it.
  function copy(button) {
    var field = document.getElementById(button.dataset.copy);
    var status = document.getElementById("copy-status");
    var done = function () {
      button.textContent = "Copied";
      if (status) status.textContent = button.dataset.copied || "Link copied to the clipboard.";
      setTimeout(function () { button.textContent = "Copy"; }, 2000);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(field.value).then(done, function () { field.select(); });
    } else {
      // Plain-http installs have no Clipboard API; the legacy command still works there.
      field.select();
      if (document.execCommand("copy")) done();
    }
  }

  document.querySelectorAll("[data-copy]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { copy(button); });
  });

  // The header on a phone: its links fold under a Menu button (CSS shows it only there).
  var top = document.querySelector(".top");
  var toggle = document.querySelector(".menu-toggle");
  var menu = document.getElementById("top-menu");
  if (top && toggle && menu) {
    toggle.hidden = false;
    top.classList.add("menu-js");
    var setOpen = function (open) {
      top.classList.toggle("menu-open", open);
      toggle.setAttribute("aria-expanded", String(open));
    };
    toggle.addEventListener("click", function () { setOpen(!top.classList.contains("menu-open")); });
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && top.classList.contains("menu-open")) { setOpen(false); toggle.focus(); }
    });
    document.addEventListener("click", function (event) {
      if (!top.contains(event.target)) setOpen(false);
    });
  }

  // Tabs that scroll sideways on a phone start with the current one in view.
  document.querySelectorAll(".survey-nav, .settings-nav").forEach(function (tabs) {
    var current = tabs.querySelector("[aria-current]");
    if (!current || tabs.scrollWidth <= tabs.clientWidth) return;
    tabs.scrollLeft = current.offsetLeft - (tabs.clientWidth - current.offsetWidth) / 2;
  });

  // Destructive buttons ask first.
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  });
})();
