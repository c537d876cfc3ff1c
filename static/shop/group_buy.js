// Group buy page: the countdown to the group's deadline (data from json_script).
(function () {
  "use strict";
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function show(el, seconds) {
    if (seconds <= 0) { el.textContent = "00:00:00"; return; }
    var h = Math.floor(seconds / 3600), m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
    el.textContent = pad(h) + ":" + pad(m) + ":" + pad(s);
  }
  document.querySelectorAll("[data-countdown]").forEach(function (el) {
    var source = document.getElementById(el.getAttribute("data-countdown"));
    if (!source) { return; }
    var data = JSON.parse(source.textContent);
    var end = Date.now() + data.seconds * 1000;
    function tick() {
      var left = Math.max(0, Math.round((end - Date.now()) / 1000));
      show(el, left);
      if (left > 0) { window.setTimeout(tick, 1000); }
    }
    tick();
  });
})();
