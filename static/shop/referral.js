// The invite page's copy button: copies the field named by data-copy-target
// and says so for two seconds. No inline script (CSP).
(function () {
  "use strict";

  function copied(button) {
    var label = button.textContent;
    button.textContent = button.getAttribute("data-copied-label") || label;
    window.setTimeout(function () {
      button.textContent = label;
    }, 2000);
  }

  function fallback(field, button) {
    field.focus();
    field.select();
    try {
      if (document.execCommand("copy")) {
        copied(button);
      }
    } catch (error) {
      // The link stays selected: the buyer copies it by hand.
    }
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy-target]");
    if (!button) {
      return;
    }
    var field = document.getElementById(button.getAttribute("data-copy-target"));
    if (!field) {
      return;
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(field.value).then(
        function () {
          copied(button);
        },
        function () {
          fallback(field, button);
        }
      );
    } else {
      fallback(field, button);
    }
  });
})();
