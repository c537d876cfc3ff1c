/* Structured rows (catalog/admin/rows.py): add and remove rows of a SKU's
   recharge fields or specs. Loaded as a file: no inline script, CSP-friendly. */
(function () {
  "use strict";

  function renumber(editor) {
    var cells = editor.querySelectorAll("[data-rows-body] [data-rows-number]");
    for (var i = 0; i < cells.length; i += 1) {
      cells[i].textContent = String(i + 1);
    }
  }

  function setUp(editor) {
    if (editor.hasAttribute("data-rows-ready")) {
      return;
    }
    editor.setAttribute("data-rows-ready", "");
    var body = editor.querySelector("[data-rows-body]");
    var template = editor.querySelector("template[data-rows-template]");
    var next = parseInt(editor.getAttribute("data-next-index"), 10) || 0;

    editor.querySelector("[data-rows-add]").addEventListener("click", function () {
      var row = template.content.querySelector("[data-rows-row]").cloneNode(true);
      var named = row.querySelectorAll("[name]");
      for (var i = 0; i < named.length; i += 1) {
        named[i].name = named[i].name.replace("__index__", String(next));
      }
      next += 1;
      body.appendChild(row);
      renumber(editor);
      var first = row.querySelector("input[type=text], select");
      if (first) {
        first.focus();
      }
    });

    editor.addEventListener("click", function (event) {
      var button = event.target.closest("[data-rows-remove]");
      if (!button || !editor.contains(button)) {
        return;
      }
      button.closest("[data-rows-row]").remove();
      renumber(editor);
    });
  }

  function setUpAll() {
    var editors = document.querySelectorAll("[data-rows-editor]");
    for (var i = 0; i < editors.length; i += 1) {
      setUp(editors[i]);
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setUpAll);
  } else {
    setUpAll();
  }
})();
