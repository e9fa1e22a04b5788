// JSON fields in admin: the vendored JSONEditor (code mode) over each textarea.json-editor.
// The textarea stays the form field: the editor writes its text back on every change,
// so the server validates exactly what the person typed (and explains what is wrong).
(function () {
  "use strict";

  function attach(textarea) {
    if (textarea.dataset.jsonEditor || textarea.closest(".empty-form") || !window.JSONEditor) {
      return;
    }
    textarea.dataset.jsonEditor = "1";
    const holder = document.createElement("div");
    holder.className = "json-editor-holder";
    textarea.insertAdjacentElement("afterend", holder);
    const editor = new window.JSONEditor(holder, {
      mode: "code",
      modes: ["code", "tree"],
      mainMenuBar: true,
      statusBar: true,
      onChangeText: function (text) {
        textarea.value = text;
        textarea.dispatchEvent(new Event("change", { bubbles: true }));
      },
    });
    editor.setText(textarea.value || "");
    textarea.style.display = "none";
    textarea.jsonEditor = editor;
  }

  function attachAll(root) {
    root.querySelectorAll("textarea.json-editor").forEach(attach);
  }

  document.addEventListener("DOMContentLoaded", function () {
    attachAll(document);
  });
  // Rows added with "Add another …" in inlines.
  document.addEventListener("formset:added", function (event) {
    attachAll(event.target);
  });
})();
