/* Form pages: a live character count on text with a limit, searchable selects (Tom Select)
   and rows added and removed in formsets. Every form works without this script: the limits
   are checked on the server, the selects stay plain selects and the empty rows remain. */
(function () {
  "use strict";

  /* --- character counter: <textarea data-maxlength="2000"> ---------------------------- */
  function counter(field) {
    var limit = parseInt(field.getAttribute("data-maxlength"), 10);
    if (!limit) return;
    var note = document.createElement("small");
    note.className = "counter";
    note.setAttribute("aria-live", "polite");
    field.insertAdjacentElement("afterend", note);
    function update() {
      var used = field.value.length;
      note.textContent = "已输入 " + used + " / " + limit + " 字";
      note.classList.toggle("counter-over", used > limit);
      note.classList.toggle("counter-near", used <= limit && used >= limit * 0.9);
    }
    field.addEventListener("input", update);
    update();
  }

  /* --- searchable selects: <select data-searchable> ------------------------------------- */
  function searchable(select) {
    if (typeof window.TomSelect !== "function" || select.tomselect) return;
    var multiple = select.multiple;
    var options = {
      plugins: multiple ? ["remove_button"] : [],
      maxOptions: null,
      allowEmptyOption: !multiple,
      placeholder: multiple ? "输入名称搜索，可选多项" : "输入名称搜索",
      render: {
        no_results: function () {
          return '<div class="no-results">没有匹配的选项</div>';
        },
      },
    };
    if (multiple) options.hidePlaceholder = true;
    new window.TomSelect(select, options);
  }

  /* --- formset rows: <div data-formset="prefix"> with a <template data-formset-template> --- */
  function clearRow(row) {
    row.querySelectorAll("input, textarea, select").forEach(function (el) {
      if (el.type === "checkbox" || el.type === "radio") el.checked = false;
      else if (el.tagName === "SELECT") el.selectedIndex = -1;
      else el.value = "";
    });
  }

  function formset(box) {
    var prefix = box.getAttribute("data-formset");
    var total = box.querySelector("#id_" + prefix + "-TOTAL_FORMS");
    var max = box.querySelector("#id_" + prefix + "-MAX_NUM_FORMS");
    var rows = box.querySelector("[data-formset-rows]");
    var template = box.querySelector("template[data-formset-template]");
    var add = box.querySelector("[data-formset-add]");
    if (!total || !rows || !template || !add) return;

    function remove(button) {
      var row = button.closest("[data-formset-row]");
      // The row stays in the form, emptied: an empty row is not saved, and the numbering of
      // the others holds.
      clearRow(row);
      row.hidden = true;
    }

    box.querySelectorAll("[data-formset-remove]").forEach(function (b) {
      b.hidden = false;
    });
    box.addEventListener("click", function (event) {
      var button = event.target.closest("[data-formset-remove]");
      if (button && box.contains(button)) remove(button);
    });
    add.hidden = false;
    add.addEventListener("click", function () {
      var index = parseInt(total.value, 10);
      if (max && index >= parseInt(max.value, 10)) {
        add.disabled = true;
        return;
      }
      var html = template.innerHTML.replace(/__prefix__/g, String(index));
      rows.insertAdjacentHTML("beforeend", html);
      total.value = String(index + 1);
      var row = rows.lastElementChild;
      var first = row.querySelector("input, select, textarea");
      if (first) first.focus();
      row.querySelectorAll("[data-maxlength]").forEach(counter);
    });
  }

  function init() {
    document.querySelectorAll("[data-maxlength]").forEach(counter);
    document.querySelectorAll("select[data-searchable]").forEach(searchable);
    document.querySelectorAll("[data-formset]").forEach(formset);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
