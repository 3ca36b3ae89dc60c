/* The top bar's navigation: the menu button on narrow screens and the dropdown groups.
   Loaded in <head> without defer so that narrow screens start with the menu closed; without
   this file the navigation simply stays open and the groups are plain <details>. */
(function () {
  "use strict";
  var root = document.documentElement;
  root.classList.add("js-nav");

  function groups() {
    return Array.prototype.slice.call(document.querySelectorAll(".mainnav details"));
  }

  function closeGroups(except) {
    groups().forEach(function (details) {
      if (details !== except) {
        details.open = false;
      }
    });
  }

  function setMenu(button, open) {
    var panel = document.getElementById(button.getAttribute("aria-controls"));
    button.setAttribute("aria-expanded", open ? "true" : "false");
    if (panel) {
      panel.classList.toggle("open", open);
      // The menu opens on the group of the current page.
      var current = panel.querySelector(".nav-group.current details");
      if (open && current) {
        current.open = true;
      }
    }
  }

  // A table wider than the screen scrolls in its own box (app.css); keyboard users reach
  // that box with Tab to scroll it.
  function focusableScrollers() {
    Array.prototype.forEach.call(document.querySelectorAll("table.table"), function (table) {
      if (table.scrollWidth > table.clientWidth + 1) {
        table.setAttribute("tabindex", "0");
      } else if (table.getAttribute("tabindex") === "0") {
        table.removeAttribute("tabindex");
      }
    });
  }

  window.addEventListener("resize", focusableScrollers);

  document.addEventListener("DOMContentLoaded", function () {
    focusableScrollers();
    var button = document.querySelector(".menu-toggle");
    if (button) {
      button.addEventListener("click", function () {
        setMenu(button, button.getAttribute("aria-expanded") !== "true");
      });
    }
    // One group open at a time.
    groups().forEach(function (details) {
      details.addEventListener("toggle", function () {
        if (details.open) {
          closeGroups(details);
        }
      });
    });
    // A click outside the navigation closes its open group.
    document.addEventListener("click", function (event) {
      if (!event.target.closest(".mainnav, .menu-toggle")) {
        closeGroups(null);
      }
    });
    // Escape closes the open group (focus back on its heading), then the menu.
    document.addEventListener("keydown", function (event) {
      if (event.key !== "Escape") {
        return;
      }
      var open = document.querySelector(".mainnav details[open]");
      if (open) {
        open.open = false;
        open.querySelector("summary").focus();
      } else if (button && button.getAttribute("aria-expanded") === "true") {
        setMenu(button, false);
        button.focus();
      }
    });
  });
})();
