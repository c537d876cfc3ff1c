/* Loaded in the <head> of every back-office page (UNFOLD["SCRIPTS"]), before htmx
   starts (it reads its configuration when the document is parsed). htmx would add
   its indicator rules as an inline <style>, which the Content-Security-Policy
   refuses: this switches that off for unfold's htmx and for ours alike; the rules
   are in static/kameng/back-office.css. */
(function () {
  "use strict";
  var config = document.createElement("meta");
  config.name = "htmx-config";
  config.content = JSON.stringify({ includeIndicatorStyles: false });
  document.head.appendChild(config);
})();
