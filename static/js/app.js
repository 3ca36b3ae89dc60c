/* Behaviour shared by every page, without inline script (the Content Security Policy allows
   scripts from the product's own files only). */
(function () {
  "use strict";
  // A button or link with data-confirm asks before it acts.
  document.addEventListener("click", function (event) {
    var target = event.target.closest("[data-confirm]");
    if (target && !window.confirm(target.getAttribute("data-confirm"))) {
      event.preventDefault();
    }
  });
})();
