// The product page's purchase sent by htmx (templates/shop/product.html).
// htmx leaves a 4xx/5xx answer unshown; for the purchase that answer is a whole
// page meant for the buyer (CSRF refused, too many attempts, a server error), so
// it is shown like any page. A request that got no answer at all leaves the
// purchase unknown: the form says so and where to look.
(function () {
  "use strict";
  if (window.kamengCheckout) { return; } // htmx runs this again after a swap
  window.kamengCheckout = true;
  // The form that sent the request (detail.elt is where the event fires: the
  // swap's target for htmx:beforeSwap).
  function checkoutForm(event) {
    var config = event.detail && event.detail.requestConfig;
    var elt = config && config.elt;
    return elt && elt.closest ? elt.closest("form[data-checkout]") : null;
  }
  document.addEventListener("htmx:beforeSwap", function (event) {
    if (checkoutForm(event) && event.detail.xhr.status >= 400) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
  function offline(event) {
    var form = checkoutForm(event);
    var notice = form && form.querySelector("[data-checkout-offline]");
    if (notice) { notice.hidden = false; }
  }
  document.addEventListener("htmx:sendError", offline);
  document.addEventListener("htmx:timeout", offline);
})();
