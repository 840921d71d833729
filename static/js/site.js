// Behaviour shared by every page, attached through data- attributes: templates hold no
// script and no on…= handlers, so a Content-Security-Policy without 'unsafe-inline' can
// apply (docs/frontend.md).
(function () {
  "use strict";

  // <select data-autosubmit>: send its form as soon as the choice changes (the language menu).
  document.addEventListener("change", function (event) {
    var field = event.target;
    if (field.matches && field.matches("select[data-autosubmit]") && field.form) {
      field.form.submit();
    }
  });

  // <button data-copy-from="ID" data-copied-label="…">: copy the value of the element #ID
  // to the clipboard, then show the label on the button.
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-copy-from]");
    if (!button) return;
    var source = document.getElementById(button.getAttribute("data-copy-from"));
    if (!source || !navigator.clipboard) return;
    navigator.clipboard.writeText(source.value).then(function () {
      var label = button.getAttribute("data-copied-label");
      if (label) button.textContent = label;
    });
  });
})();
