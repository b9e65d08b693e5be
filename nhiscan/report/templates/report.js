(function () {
  "use strict";
  var q = document.getElementById("q");
  var sev = document.getElementById("f-severity");
  var prov = document.getElementById("f-provider");
  var owasp = document.getElementById("f-owasp");
  var showWaived = document.getElementById("f-waived");
  var rows = Array.prototype.slice.call(document.querySelectorAll("#findings tbody tr.finding"));
  var shown = document.getElementById("shown");
  var empty = document.getElementById("no-match");

  function apply() {
    var needle = q.value.trim().toLowerCase();
    var n = 0;
    rows.forEach(function (row) {
      var d = row.dataset;
      var ok = (!needle || d.text.indexOf(needle) !== -1) &&
        (!sev.value || d.severity === sev.value) &&
        (!prov.value || d.provider === prov.value) &&
        (!owasp.value || (" " + d.owasp + " ").indexOf(" " + owasp.value + " ") !== -1) &&
        (showWaived.checked || d.waived !== "true");
      row.hidden = !ok;
      if (ok) { n += 1; }
    });
    shown.textContent = n + " of " + rows.length + " findings shown";
    shown.setAttribute("data-count", String(n));
    if (empty) { empty.hidden = n !== 0; }
  }

  [q, sev, prov, owasp, showWaived].forEach(function (el) {
    el.addEventListener("input", apply);
    el.addEventListener("change", apply);
  });
  apply();
})();
