// A survey's Braze page: the link follows the identifier picked, before it is saved.
(function () {
  "use strict";
  var data = document.getElementById("braze-links");
  var field = document.getElementById("survey-link");
  if (!data || !field) return;
  var links = JSON.parse(data.textContent);
  document.querySelectorAll("input[name=identifier]").forEach(function (radio) {
    radio.addEventListener("change", function () { field.value = links[radio.value]; });
  });
})();
