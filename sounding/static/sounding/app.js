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

  // Destructive buttons ask first.
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  });
})();
