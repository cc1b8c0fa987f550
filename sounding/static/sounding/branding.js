// Branding pages: a colour picker beside the hex field, and a preview that follows the form.
(function () {
  "use strict";
  var form = document.querySelector("form[data-brand-form]");
  var preview = document.getElementById("brand-preview");
  if (!form || !preview || !window.fetch || !window.URLSearchParams) return;
  var accent = form.querySelector("input[name=accent]");
  var timer = null;

  function hexOf(value) {
    var v = value.trim().replace(/^#/, "");
    if (/^[0-9a-f]{3}$/i.test(v)) v = v.replace(/(.)/g, "$1$1");
    return /^[0-9a-f]{6}$/i.test(v) ? "#" + v.toLowerCase() : null;
  }

  if (accent && !accent.disabled) {
    var picker = document.createElement("input");
    picker.type = "color";
    picker.setAttribute("aria-label", "Pick the accent colour");
    // An empty field follows the workspace's colour, shown as its placeholder.
    picker.value = hexOf(accent.value) || hexOf(accent.placeholder || "") || "#3d3ab8";
    var box = document.createElement("div");
    box.className = "accent-picker";
    accent.parentNode.insertBefore(box, accent);
    box.appendChild(accent);
    box.appendChild(picker);
    picker.addEventListener("input", function () {
      accent.value = picker.value.toUpperCase();
      refresh();
    });
    accent.addEventListener("input", function () {
      var hex = hexOf(accent.value) || hexOf(accent.placeholder || "");
      if (hex) picker.value = hex;
    });
  }

  function refresh() {
    clearTimeout(timer);
    timer = setTimeout(function () {
      var params = new URLSearchParams();
      new FormData(form).forEach(function (value, name) {
        if (typeof value === "string" && name !== "csrfmiddlewaretoken") params.append(name, value);
      });
      params.set("swatch", "1");
      fetch(form.getAttribute("data-brand-form") + "?" + params.toString(), {
        credentials: "same-origin",
        headers: { "X-Requested-With": "fetch" }
      }).then(function (response) {
        return response.ok ? response.text() : null;
      }).then(function (html) {
        if (html !== null) show(html);
      }).catch(function () { /* the preview keeps its last state */ });
    }, 200);
  }

  // The preview's colours, shape and font come as CSS in data-css: a style block in the
  // fetched HTML would carry its own response's nonce, which this page refuses, so they go
  // into this page's block instead.
  function show(html) {
    preview.innerHTML = html;
    var fresh = preview.querySelector("[data-css]");
    var style = document.getElementById("brand-preview-style");
    if (fresh && style) style.textContent = fresh.getAttribute("data-css");
  }

  form.addEventListener("input", refresh);
  form.addEventListener("change", refresh);
})();
