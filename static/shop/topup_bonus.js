// The wallet's top-up form says the bonus the typed amount gets (the highest
// tier reached of the rules in force, from the json_script "bonus-tiers").
(function () {
  "use strict";
  var data = document.getElementById("bonus-tiers");
  var input = document.querySelector('[data-testid="topup"] input[name="amount"]');
  var out = document.querySelector("[data-bonus-hint]");
  if (!data || !input || !out) return;
  var tiers = JSON.parse(data.textContent);
  function fen(text) {
    var match = /^\s*(\d{1,9})(?:\.(\d{1,2}))?\s*$/.exec(text || "");
    if (!match) return null;
    return parseInt(match[1], 10) * 100 + parseInt(((match[2] || "") + "00").slice(0, 2), 10);
  }
  function show() {
    var amount = fen(input.value);
    var best = 0;
    tiers.forEach(function (tier) {
      if (amount !== null && amount >= fen(tier.threshold)) best = Math.max(best, fen(tier.bonus));
    });
    if (best > 0) {
      out.textContent = out.dataset.template.replace("%s", "¥" + (best / 100).toFixed(2));
      out.hidden = false;
    } else {
      out.hidden = true;
    }
  }
  input.addEventListener("input", show);
  show();
})();
