/* Behaviour shared by every page, without inline script (the Content Security Policy allows
   scripts from the product's own files only). */
(function () {
  "use strict";

  // A button or link with data-confirm asks before it acts; a dismissed question changes
  // nothing (the click, and so the form's submission, is cancelled).
  document.addEventListener("click", function (event) {
    var target = event.target.closest("[data-confirm]");
    if (target && target.tagName !== "FORM" && !window.confirm(target.getAttribute("data-confirm"))) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  });

  // A form with data-confirm asks before it is sent, unless the button that sends it has
  // already asked its own question.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.hasAttribute || !form.hasAttribute("data-confirm")) {
      return;
    }
    var submitter = event.submitter;
    if (submitter && submitter.hasAttribute("data-confirm")) {
      return;
    }
    if (!window.confirm(form.getAttribute("data-confirm"))) {
      event.preventDefault();
    }
  });

  // The filing form (R2.2): fields carrying data-approved show, as they are typed, where they
  // depart from the approval on record, and the list of differences to acknowledge.
  function normalise(value) {
    return value
      .split("\n")
      .map(function (line) { return line.trim().replace(/\s+/g, " "); })
      .filter(function (line) { return line !== ""; })
      .join("\n");
  }

  function shown(field) {
    var value = field.value.trim();
    var iso = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
    if (iso) {
      return iso[1] + "年" + Number(iso[2]) + "月" + Number(iso[3]) + "日";
    }
    return normalise(value).replace(/\n/g, "；") || "未填写";
  }

  function labelOf(field) {
    var label = document.querySelector('label[for="' + field.id + '"]');
    return label ? label.textContent.replace("*", "").trim() : field.name;
  }

  function compareWithApproval() {
    var box = document.getElementById("approval-differences");
    if (!box) {
      return;
    }
    var rows = box.querySelector("tbody");
    var differs = [];
    document.querySelectorAll("[data-approved]").forEach(function (field) {
      var approved = field.getAttribute("data-approved");
      var differ = field.tagName === "TEXTAREA"
        ? normalise(field.value) !== normalise(approved)
        : field.value.trim() !== approved.trim();
      var note = field.parentNode.querySelector(".approval-diff");
      if (differ) {
        if (!note) {
          note = document.createElement("small");
          note.className = "approval-diff";
          field.insertAdjacentElement("afterend", note);
        }
        note.textContent = "与批复不一致：批复为 " + field.getAttribute("data-approved-shown");
        differs.push([labelOf(field), field.getAttribute("data-approved-shown"), shown(field)]);
      } else if (note) {
        note.remove();
      }
    });
    rows.textContent = "";
    differs.forEach(function (diff) {
      var tr = document.createElement("tr");
      diff.forEach(function (text, i) {
        var td = document.createElement("td");
        if (i === 2) {
          var strong = document.createElement("strong");
          strong.textContent = text;
          td.appendChild(strong);
        } else {
          td.textContent = text;
        }
        tr.appendChild(td);
      });
      rows.appendChild(tr);
    });
    box.hidden = differs.length === 0;
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (document.querySelector("[data-approved]")) {
      compareWithApproval();
      document.addEventListener("input", function (event) {
        if (event.target.hasAttribute && event.target.hasAttribute("data-approved")) {
          compareWithApproval();
        }
      });
      document.addEventListener("change", function (event) {
        if (event.target.hasAttribute && event.target.hasAttribute("data-approved")) {
          compareWithApproval();
        }
      });
    }
  });
})();
