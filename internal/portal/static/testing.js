// hookrelay portal, testing page: while a test event's delivery is not
// settled, fetch its result fragment again and put it in the page, so the
// attempt and its response appear without reloading. Without this script
// the page offers a reload link.
(function () {
  "use strict";
  var box = document.querySelector("[data-poll]");
  if (!box || !window.fetch) return;
  var url = box.getAttribute("data-poll");
  var started = Date.now();
  var limitMs = 120000;
  function settled() {
    var el = box.querySelector("[data-settled]");
    return el && el.getAttribute("data-settled") === "true";
  }
  function next(delay) {
    if (settled() || Date.now() - started > limitMs) return;
    window.setTimeout(tick, delay);
  }
  function tick() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (html !== null) box.innerHTML = html;
        next(1000);
      })
      .catch(function () { next(3000); });
  }
  next(500);
})();
