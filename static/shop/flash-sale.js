// The flash sale's countdown on the product page (templates/shop/_flash_sale.html).
// The server's clock and the target come in data attributes (ms since the epoch);
// the offset to this device's clock is taken once, so a wrong device clock does
// not move the countdown. At zero the page reloads once to show the new state.
(function () {
  "use strict";
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function format(ms) {
    var total = Math.max(0, Math.floor(ms / 1000));
    var days = Math.floor(total / 86400);
    var rest = total % 86400;
    var clock = pad(Math.floor(rest / 3600)) + ":" + pad(Math.floor((rest % 3600) / 60)) + ":" + pad(rest % 60);
    return days > 0 ? days + "天 " + clock : clock;
  }
  function start(box) {
    var offset = Number(box.dataset.serverNow) - Date.now();
    var target = Number(box.dataset.target);
    var clock = box.querySelector("[data-clock]");
    var reloaded = false;
    function tick() {
      var left = target - (Date.now() + offset);
      clock.textContent = format(left);
      if (left <= 0 && !reloaded) {
        reloaded = true;
        window.setTimeout(function () { window.location.reload(); }, 800);
        return;
      }
      window.setTimeout(tick, 1000 - ((Date.now() + offset) % 1000));
    }
    tick();
  }
  function init() {
    document.querySelectorAll("[data-testid=flash-countdown]").forEach(start);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
