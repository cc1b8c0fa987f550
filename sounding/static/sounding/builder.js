// The survey builder (surveys/detail.html). The page works without this file: every editor is
// a plain form, moves are buttons, the preview is an iframe. This adds what a script does
// better: fields that follow the question type, a choice list to edit line by line, condition
// inputs that follow the question chosen, drag-and-drop, a preview that follows the editor
// (a sheet on a phone), the add form moved to the place picked, keyboard shortcuts, and a
// question before unsaved changes are lost.
(function () {
  "use strict";

  var dataNode = document.getElementById("builder-data");
  var data = dataNode ? JSON.parse(dataNode.textContent) : { questions: [], version: 0 };
  var frame = document.querySelector("iframe[data-preview]");
  var status = document.getElementById("builder-status");
  var leaving = false;

  function say(text) {
    if (!status) return;
    status.textContent = "";
    setTimeout(function () { status.textContent = text; }, 50);
  }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) { node.setAttribute(name, attrs[name]); });
    if (text) node.textContent = text;
    return node;
  }

  function question(key) {
    for (var i = 0; i < data.questions.length; i++) {
      if (data.questions[i].key === key) return data.questions[i];
    }
    return null;
  }

  // --- Preview -----------------------------------------------------------------------------

  function previewAt(key) {
    if (!frame) return;
    var url = frame.dataset.base + (key ? "&q=" + encodeURIComponent(key) : "");
    if (frame.getAttribute("src") !== url) frame.setAttribute("src", url);
  }

  function reloadPreview() {
    if (!frame) return;
    frame.setAttribute("src", frame.getAttribute("src"));
  }

  var preview = document.getElementById("preview");

  // --- Fields that follow the question type ---------------------------------------------------

  var SCALES = { nps: [0, 10], rating: [1, 5] };
  var END_HINTS = { nps: ["Not at all likely", "Extremely likely"] };

  function chosenType(form) {
    var checked = form.querySelector("input[type=radio][name$=type]:checked");
    return checked ? checked.value : "";
  }

  // The answer buttons of a score question, drawn as respondents see them; the labels typed
  // under them are the form's own fields.
  function drawScale(form, type) {
    var row = form.querySelector("[data-scale-row]");
    if (!row) return;
    var ends = SCALES[type];
    if (type === "scale") {
      var low = parseInt((form.querySelector("input[name$=min]") || {}).value, 10);
      var high = parseInt((form.querySelector("input[name$=max]") || {}).value, 10);
      ends = [isNaN(low) ? 1 : low, isNaN(high) ? 5 : high];
    }
    row.textContent = "";
    row.hidden = !ends;
    if (!ends) return;
    var count = ends[1] - ends[0] + 1;
    if (count < 2 || count > 11) {
      row.append(el("span", { "class": "scale-pill wide" }, ends[0] + " … " + ends[1]));
      return;
    }
    for (var n = ends[0]; n <= ends[1]; n++) {
      row.append(el("span", { "class": "scale-pill" }, type === "rating" ? "★" : String(n)));
    }
  }

  function openPicker(picker, open) {
    picker.classList.toggle("open", open);
    var chip = picker.querySelector(".type-chip");
    if (chip) chip.setAttribute("aria-expanded", String(open));
  }

  function followType(form) {
    var radios = form.querySelectorAll("input[type=radio][name$=type]");
    if (!radios.length) return;
    var picker = form.querySelector("[data-type-pick]");
    var nowLabel = form.querySelector("[data-type-now]");
    var nowIcon = form.querySelector("[data-type-now-icon]");
    var other = form.querySelector("input[name$=allow_other]");
    var otherLabel = form.querySelector("input[name$=other_label]");
    var sync = function () {
      var type = chosenType(form);
      form.dataset.type = type;
      form.querySelectorAll("[data-types]").forEach(function (part) {
        part.hidden = part.dataset.types.split(" ").indexOf(type) < 0;
      });
      // The label of "Other" matters only once "Other" is offered.
      if (other && otherLabel) otherLabel.closest(".field").classList.toggle("off", !other.checked);
      var card = form.querySelector("[data-type-card='" + type + "']");
      if (card && nowLabel) nowLabel.textContent = card.querySelector("label").textContent;
      if (card && nowIcon) nowIcon.setAttribute("d", card.querySelector("path").getAttribute("d"));
      var hints = END_HINTS[type] || ["Label (optional)", "Label (optional)"];
      var low = form.querySelector("input[name$=min_label]");
      var high = form.querySelector("input[name$=max_label]");
      if (low) low.placeholder = hints[0];
      if (high) high.placeholder = hints[1];
      drawScale(form, type);
    };
    var chip = picker ? picker.querySelector(".type-chip") : null;
    if (chip) {
      chip.hidden = false;
      picker.classList.add("js");
      chip.addEventListener("click", function () {
        openPicker(picker, !picker.classList.contains("open"));
        if (picker.classList.contains("open")) {
          var checked = picker.querySelector("input:checked");
          if (checked) checked.focus();
        }
      });
    }
    function done() {
      if (!picker || !picker.classList.contains("open")) return;
      openPicker(picker, false);
      var prompt = form.querySelector("textarea[name$=prompt]");
      if (prompt) prompt.focus();
    }
    radios.forEach(function (radio) {
      radio.addEventListener("change", sync);
      // A click picks and closes; arrows only try types, and Enter keeps the one tried (rather
      // than submitting the form).
      radio.closest(".type-card").addEventListener("click", function (event) {
        if (event.detail > 0) setTimeout(done);
      });
      radio.addEventListener("keydown", function (event) {
        if (event.key !== "Enter" || event.ctrlKey || event.metaKey) return;
        event.preventDefault();
        done();
      });
    });
    form.querySelectorAll("input[name$=min], input[name$=max]").forEach(function (input) {
      input.addEventListener("input", function () { drawScale(form, chosenType(form)); });
    });
    if (other) other.addEventListener("change", sync);
    form.addEventListener("reset", function () { setTimeout(sync); });
    sync();
  }

  // --- Choices, one input each ----------------------------------------------------------------

  function choiceEditor(form) {
    var area = form.querySelector("textarea[data-choices]");
    if (!area) return;
    var origins = form.querySelector("input[name$=choice_origins]");
    var label = form.querySelector("label[for='" + area.id + "']");
    var list = el("ul", { "class": "choice-list", "role": "list" });
    var add = el("button", { type: "button" }, "Add a choice");
    if (label) {
      label.id = label.id || area.id + "_label";
      list.setAttribute("aria-labelledby", label.id);
    }

    function sync() {
      var items = Array.prototype.slice.call(list.children);
      area.value = items.map(function (li) { return li.querySelector("input").value; }).join("\n");
      if (origins) {
        origins.value = JSON.stringify(items.map(function (li) { return li.dataset.origin; }));
      }
      items.forEach(function (li, i) {
        var n = i + 1;
        li.querySelector("input").setAttribute("aria-label", "Choice " + n);
        li.querySelector("[data-up]").setAttribute("aria-label", "Move choice " + n + " up");
        li.querySelector("[data-down]").setAttribute("aria-label", "Move choice " + n + " down");
        li.querySelector("[data-remove]").setAttribute("aria-label", "Remove choice " + n);
        li.querySelector("[data-up]").disabled = i === 0;
        li.querySelector("[data-down]").disabled = i === items.length - 1;
      });
      area.dispatchEvent(new Event("input", { bubbles: true }));
    }

    function item(text, origin) {
      var li = el("li");
      li.dataset.origin = origin;
      var input = el("input", { type: "text", maxlength: "255" });
      input.value = text;
      var up = el("button", { type: "button", "data-up": "" }, "↑");
      var down = el("button", { type: "button", "data-down": "" }, "↓");
      var remove = el("button", { type: "button", "class": "danger", "data-remove": "" }, "✕");
      li.append(input, up, down, remove);
      input.addEventListener("input", sync);
      input.addEventListener("keydown", function (event) {
        if (event.key !== "Enter" || event.ctrlKey || event.metaKey) return;
        event.preventDefault(); // Enter adds the next choice rather than saving the form
        var next = item("", "");
        li.after(next);
        sync();
        next.querySelector("input").focus();
      });
      up.addEventListener("click", function () {
        if (li.previousElementSibling) li.previousElementSibling.before(li);
        sync();
        up.disabled ? down.focus() : up.focus();
      });
      down.addEventListener("click", function () {
        if (li.nextElementSibling) li.nextElementSibling.after(li);
        sync();
        down.disabled ? up.focus() : down.focus();
      });
      remove.addEventListener("click", function () {
        var focus = li.nextElementSibling || li.previousElementSibling;
        li.remove();
        sync();
        (focus ? focus.querySelector("input") : add).focus();
        say("Choice removed.");
      });
      return li;
    }

    function build(text) {
      list.textContent = "";
      text.split("\n").map(function (line) { return line.trim(); })
        .filter(Boolean)
        .forEach(function (line) { list.append(item(line, line)); });
      if (!list.children.length) list.append(item("", ""));
      sync();
    }

    add.addEventListener("click", function () {
      var next = item("", "");
      list.append(next);
      sync();
      next.querySelector("input").focus();
    });
    area.hidden = true;
    area.after(list, add);
    var help = document.getElementById(area.id + "_helptext");
    if (help && area.dataset.boxesHelp) help.textContent = area.dataset.boxesHelp;
    build(area.value);
    // Without a stored origin per line, a reset form gets the saved list back.
    form.addEventListener("reset", function () { setTimeout(function () { build(area.value); }); });
  }

  // --- Condition inputs that follow the question chosen ---------------------------------------

  function field(child, labelText, forId, help) {
    var wrap = el("div", { "class": "field" });
    if (labelText) wrap.append(el("label", { "for": forId }, labelText));
    if (help) wrap.append(el("div", { "class": "helptext", id: forId + "_helptext" }, help));
    wrap.append(child);
    if (help) child.setAttribute("aria-describedby", forId + "_helptext");
    return wrap;
  }

  function options(name, id, type, items) {
    var set = el("fieldset");
    set.append(el("legend", {}, "Answer"));
    var box = el("div");
    items.forEach(function (pair, i) {
      var row = el("div");
      var input = el("input", { type: type, name: name, value: pair[0], id: id + "_" + i });
      var label = el("label", { "for": id + "_" + i });
      label.append(input, " " + pair[1]);
      row.append(label);
      box.append(row);
    });
    set.append(box);
    var wrap = el("div", { "class": "field" });
    wrap.append(set);
    return wrap;
  }

  function valueInputs(prefix, source) {
    var id = "id_" + prefix;
    if (source.kind === "choice") {
      var pairs = source.choices.map(function (c) { return [c, c]; });
      return options(prefix + "rule_choice", id + "rule_choice", "checkbox", pairs);
    }
    if (source.kind === "yes_no") {
      return options(prefix + "rule_yes_no", id + "rule_yes_no", "radio", [["yes", "Yes"], ["no", "No"]]);
    }
    if (source.kind === "number") {
      var number = el("input", { type: "text", inputmode: "decimal", name: prefix + "rule_number", id: id + "rule_number" });
      return field(number, "Number", id + "rule_number", "For “is one of”, separate the numbers with commas.");
    }
    var text = el("textarea", { rows: "2", name: prefix + "rule_text", id: id + "rule_text" });
    return field(text, "Answer", id + "rule_text", "One answer per line.");
  }

  function ruleEditor(form) {
    var pick = form.querySelector("select[name$=rule_question]");
    if (!pick) return;
    var prefix = pick.name.replace(/rule_question$/, "");
    var op = form.querySelector("select[name$=rule_op]");
    var opField = form.querySelector("[data-rule-op]");
    var values = form.querySelector("[data-rule-value]");
    form.querySelectorAll("[data-no-js]").forEach(function (node) { node.hidden = true; });

    function fitOperators(source) {
      var chosen = op.value;
      op.textContent = "";
      var fitting = source ? source.operators : [];
      op.append(el("option", { value: "" }, "—"));
      fitting.forEach(function (pair) {
        var option = el("option", { value: pair[0] }, pair[1]);
        if (pair[0] === chosen) option.selected = true;
        op.append(option);
      });
      if (fitting.length === 1) op.value = fitting[0][0];
    }

    pick.addEventListener("change", function () {
      var source = question(pick.value);
      fitOperators(source);
      opField.hidden = !source;
      values.textContent = "";
      if (source) values.append(valueInputs(prefix, source));
    });
    fitOperators(question(pick.value));
  }

  // --- Unsaved changes --------------------------------------------------------------------------

  var tracked = [];

  function snapshot(form) {
    return new URLSearchParams(new FormData(form)).toString();
  }

  function dirty(form) { return form.isConnected && form.dataset.clean !== snapshot(form); }

  function track(form) {
    form.dataset.clean = snapshot(form);
    tracked.push(form);
    var mark = function () {
      var editor = form.closest("details[data-editor]");
      if (editor) editor.classList.toggle("dirty", dirty(form));
    };
    form.addEventListener("input", mark);
    form.addEventListener("change", mark);
    form.addEventListener("submit", function (event) {
      var others = tracked.filter(function (f) { return f !== form && dirty(f); });
      if (others.length && !window.confirm("Another form on this page has unsaved changes. Save this one and lose those?")) {
        event.preventDefault();
        return;
      }
      leaving = true;
    });
  }

  function unsaved() { return tracked.filter(dirty); }

  window.addEventListener("beforeunload", function (event) {
    if (leaving || !unsaved().length) return;
    event.preventDefault();
    event.returnValue = "";
  });
  // A page kept in the back/forward cache comes back with `leaving` still set.
  window.addEventListener("pageshow", function () { leaving = false; });

  function discard(form) {
    form.reset();
    var editor = form.closest("details[data-editor]");
    if (editor) editor.classList.remove("dirty");
  }

  // --- Editors: one open at a time, followed by the preview -----------------------------------

  function editors() { return document.querySelectorAll("details[data-editor]"); }

  function editor(details) {
    var summary = details.querySelector("summary");
    summary.addEventListener("click", function (event) {
      if (details.open) return; // closing keeps what was typed
      var blocking = null;
      editors().forEach(function (other) {
        var form = other.querySelector("form");
        if (other !== details && other.open && dirty(form)) blocking = other;
      });
      if (blocking) {
        var n = blocking.closest(".q").querySelector(".q-num").textContent;
        if (!window.confirm("Question " + n + " has unsaved changes. Discard them and edit this one?")) {
          event.preventDefault();
          return;
        }
        discard(blocking.querySelector("form"));
      }
      editors().forEach(function (other) { if (other !== details) other.open = false; });
    });
    details.addEventListener("toggle", function () {
      if (details.open) previewAt(details.dataset.editor);
    });
    // The question as shown is the way in: a click on it opens its editor in its place.
    var body = details.closest(".q").querySelector(".q-body");
    if (body) {
      body.classList.add("opens");
      body.addEventListener("click", function (event) {
        if (details.open || event.target.closest("a, button")) return;
        summary.click();
        if (details.open) {
          var prompt = details.querySelector("textarea[name$=prompt]");
          if (prompt) prompt.focus();
        }
      });
    }
  }

  // --- Drag and drop (pointer events: mouse, pen and touch alike) -----------------------------

  function csrf(li) { return li.querySelector("input[name=csrfmiddlewaretoken]").value; }

  function dragAndDrop(list) {
    list.querySelectorAll("[data-drag]").forEach(function (handle) {
      handle.hidden = false;
      handle.addEventListener("pointerdown", function (event) { start(event, handle.closest("li")); });
    });
    var hint = document.querySelector("[data-drag-hint]");
    if (hint) hint.hidden = false;

    function start(event, li) {
      if (event.button !== 0) return;
      if (unsaved().length && !window.confirm("Moving a question reloads the list: discard your unsaved changes?")) return;
      event.preventDefault();
      var before = Array.prototype.indexOf.call(list.children, li);
      var next = li.nextElementSibling;
      li.classList.add("dragging");

      function move(e) {
        var target = null;
        Array.prototype.some.call(list.children, function (other) {
          if (other === li) return false;
          var box = other.getBoundingClientRect();
          if (e.clientY < box.top + box.height / 2) { target = other; return true; }
          return false;
        });
        if (target) { if (target !== li.nextElementSibling) list.insertBefore(li, target); }
        else if (list.lastElementChild !== li) list.append(li);
      }

      // Listened to on the document: moving the item in the page would drop a pointer capture.
      function end() {
        document.removeEventListener("pointermove", move);
        document.removeEventListener("pointerup", end);
        document.removeEventListener("pointercancel", end);
        li.classList.remove("dragging");
        var after = Array.prototype.indexOf.call(list.children, li);
        if (after !== before) save(li, after, function () { list.insertBefore(li, next); });
      }

      document.addEventListener("pointermove", move);
      document.addEventListener("pointerup", end);
      document.addEventListener("pointercancel", end);
    }
  }

  function save(li, index, undoMove, then) {
    var body = new FormData();
    body.append("csrfmiddlewaretoken", csrf(li));
    body.append("version", data.version);
    body.append("position", index + 1);
    var list = li.parentNode;
    list.classList.add("busy");
    var url = li.querySelector("form[action$='/move']").action;
    fetch(url, { method: "POST", body: body, headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        return response.json().then(function (json) { return { ok: response.ok, json: json }; });
      })
      .then(function (result) {
        list.classList.remove("busy");
        if (!result.ok) {
          undoMove();
          showError(result.json.error || "The question could not be moved.");
          return;
        }
        var prompt = li.querySelector(".q-prompt").textContent;
        say("Moved “" + prompt + "” to position " + (index + 1) + ".");
        refresh(then);
      })
      .catch(function () {
        list.classList.remove("busy");
        undoMove();
        showError("The question could not be moved: the server did not answer. Try again.");
      });
  }

  function showError(text) {
    var box = document.getElementById("move-error");
    if (!box) {
      box = el("p", { id: "move-error", "class": "msg msg-error", role: "alert" });
      document.getElementById("questions-h").after(box);
    }
    box.textContent = text;
  }

  // After a move, the numbers, the buttons and the conditions' lists of earlier questions all
  // change: the server redraws the list, and the preview shows the new order.
  function refresh(then) {
    fetch(window.location.pathname, { headers: { Accept: "text/html" }, credentials: "same-origin" })
      .then(function (response) { return response.text(); })
      .then(function (html) {
        var page = new DOMParser().parseFromString(html, "text/html");
        var fresh = page.getElementById("question-list");
        var old = document.getElementById("question-list");
        var freshData = page.getElementById("builder-data");
        if (!fresh || !old || !freshData) { window.location.reload(); return; }
        data = JSON.parse(freshData.textContent);
        var adding = addSection();
        var addingAt = adding && old.contains(adding) ? adding.closest("[data-add-slot]").dataset.addSlot : null;
        if (addingAt !== null) placeAdd("");
        fresh.querySelectorAll("[data-add-slot] > section[data-add]").forEach(function (stale) { stale.remove(); });
        tracked = tracked.filter(function (form) { return !old.contains(form); });
        old.replaceWith(fresh);
        var error = document.getElementById("move-error");
        if (error) error.remove();
        document.querySelectorAll("form input[name=version]").forEach(function (input) {
          if (fresh.contains(input)) return;
          var form = input.form;
          var wasClean = !dirty(form);
          input.value = data.version;
          if (wasClean) form.dataset.clean = snapshot(form);
        });
        setUp(fresh);
        if (addingAt !== null) placeAdd(addingAt);
        reloadPreview();
        if (then) then();
      });
  }

  // --- The add form, moved to the place picked ------------------------------------------------

  function addSection() { return document.getElementById("add"); }

  // `key`: after that question; "_start": before the first; "": at the bottom.
  function placeAdd(key) {
    var section = addSection();
    if (!section) return null;
    var slot = key ? document.querySelector("[data-add-slot='" + key + "']") : null;
    var target = slot || document.getElementById("add-home");
    if (!target) return null;
    var was = section.closest("[data-add-slot]");
    if (was && was !== slot) {
      var link = was.querySelector("[data-add-here]");
      if (link) link.hidden = false;
    }
    if (slot) {
      var here = slot.querySelector("[data-add-here]");
      if (here) here.hidden = true;
    }
    if (section.parentNode !== target) target.append(section);
    var after = section.querySelector("select[name=after]");
    if (after) after.value = key;
    return section;
  }

  function startAdding(key) {
    var section = placeAdd(key);
    if (!section) return;
    var picker = section.querySelector("[data-type-pick]");
    if (picker) openPicker(picker, true);
    section.scrollIntoView({ block: "start" });
    var checked = section.querySelector("input[type=radio][name$=type]:checked");
    (checked || section.querySelector("textarea")).focus();
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest("[data-add-here]");
    if (!link) return;
    event.preventDefault();
    startAdding(link.dataset.addHere);
  });

  // --- The preview on a phone: a sheet one tap away ---------------------------------------------

  var narrow = window.matchMedia("(max-width: 69.99rem)");
  var panel = document.getElementById("preview-panel");
  var fab = document.querySelector("[data-preview-open]");
  var closer = document.querySelector("[data-preview-close]");

  function sheetOpen() { return panel && panel.classList.contains("sheet-open"); }

  function showSheet(open) {
    if (!panel || !fab) return;
    panel.classList.toggle("sheet-open", open);
    document.documentElement.classList.toggle("sheet-shown", open);
    fab.setAttribute("aria-expanded", String(open));
    if (open) {
      panel.setAttribute("role", "dialog");
      panel.setAttribute("aria-modal", "true");
      closer.focus();
    } else {
      panel.removeAttribute("role");
      panel.removeAttribute("aria-modal");
      if (narrow.matches) fab.focus();
    }
  }

  if (panel && fab && closer && preview) {
    document.documentElement.classList.add("preview-sheet");
    preview.open = true;
    fab.hidden = false;
    closer.hidden = false;
    fab.addEventListener("click", function () { showSheet(true); });
    closer.addEventListener("click", function () { showSheet(false); });
    narrow.addEventListener("change", function () { if (!narrow.matches) showSheet(false); });
  }

  // --- Keyboard shortcuts -----------------------------------------------------------------------

  var help = document.getElementById("shortcuts");
  var mac = /Mac|iPhone|iPad/.test(navigator.platform || "");
  document.querySelectorAll("[data-kbd-hint]").forEach(function (hint) {
    hint.hidden = false;
    if (mac) hint.querySelector("kbd").textContent = "⌘";
  });
  var helpButton = document.querySelector("[data-shortcuts-open]");
  if (helpButton && help) {
    helpButton.hidden = false;
    helpButton.querySelector("button").addEventListener("click", function () { help.showModal(); });
  }

  function typing(node) {
    if (!node || !node.closest) return false;
    if (node.isContentEditable || node.closest("textarea, select")) return true;
    if (node.tagName !== "INPUT") return false;
    return ["checkbox", "radio", "button", "submit", "reset", "range", "color"].indexOf(node.type) < 0;
  }

  function currentQuestion(node) {
    var li = node && node.closest ? node.closest("#question-list > li") : null;
    if (li) return li;
    var open = document.querySelector("details[data-editor][open]");
    return open ? open.closest("li") : null;
  }

  function moveByKey(li, step) {
    var list = li.parentNode;
    var items = Array.prototype.slice.call(list.children);
    var before = items.indexOf(li);
    var index = before + step;
    if (index < 0 || index >= items.length) { say("It is already " + (step < 0 ? "first." : "last.")); return; }
    if (unsaved().length && !window.confirm("Moving a question reloads the list: discard your unsaved changes?")) return;
    var next = li.nextElementSibling;
    if (step < 0) items[index].before(li); else items[index].after(li);
    var key = li.dataset.key;
    save(li, index, function () { list.insertBefore(li, next); }, function () {
      var moved = document.getElementById("q-" + key);
      var summary = moved && moved.querySelector("details[data-editor] > summary");
      if (summary) summary.focus();
    });
  }

  function undoLast() {
    var form = document.querySelector("form.undo-form");
    if (form) { leaving = true; form.requestSubmit(); }
    else say("There is no deletion to undo.");
  }

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.isComposing) return;
    var target = event.target;
    var command = event.ctrlKey || event.metaKey;
    if (command && event.key === "Enter") {
      var form = target.closest ? target.closest("form[data-question-form]") : null;
      if (!form) {
        var open = document.querySelector("details[data-editor][open]");
        form = open ? open.querySelector("form") : null;
      }
      if (form) { event.preventDefault(); form.requestSubmit(); }
      return;
    }
    if (event.key === "Escape" && sheetOpen()) { event.preventDefault(); showSheet(false); return; }
    if (typing(target) || (help && help.open)) return;
    if (command && !event.shiftKey && !event.altKey && event.key.toLowerCase() === "z") {
      event.preventDefault();
      undoLast();
      return;
    }
    if (event.altKey && !command && (event.key === "ArrowUp" || event.key === "ArrowDown")) {
      var li = currentQuestion(target);
      if (li && dataNode) { event.preventDefault(); moveByKey(li, event.key === "ArrowUp" ? -1 : 1); }
      return;
    }
    if (command || event.altKey) return;
    if (event.key === "n" || event.key === "a" || event.key === "N" || event.key === "A") {
      if (!addSection()) return;
      event.preventDefault();
      startAdding("");
    } else if (event.key === "p" || event.key === "P") {
      if (!fab || fab.hidden) return;
      event.preventDefault();
      if (narrow.matches) showSheet(!sheetOpen());
      else say("The preview is beside the questions.");
    } else if (event.key === "?" && help) {
      event.preventDefault();
      help.showModal();
    }
  });

  // --- Start ------------------------------------------------------------------------------------

  function setUp(root) {
    root.querySelectorAll("form[data-question-form]").forEach(function (form) {
      followType(form);
      choiceEditor(form);
      ruleEditor(form);
    });
    root.querySelectorAll("form[data-edit-form], form[data-add-form]").forEach(track);
    root.querySelectorAll("details[data-editor]").forEach(editor);
    var list = root.id === "question-list" ? root : root.querySelector("#question-list");
    if (list && dataNode) dragAndDrop(list);
  }

  setUp(document);
  var open = document.querySelector("details[data-editor][open]");
  var hash = window.location.hash.match(/^#q-([a-z0-9_]+)$/);
  if (open) previewAt(open.dataset.editor);
  else if (hash && question(hash[1])) previewAt(hash[1]);
})();
