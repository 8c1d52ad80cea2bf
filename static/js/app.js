// Small behaviours that htmx does not cover. No inline script: the CSP forbids it.
(function () {
  "use strict";

  function stateBox(elt) {
    var fieldset = elt && elt.closest ? elt.closest("fieldset.question") : null;
    return fieldset ? fieldset.querySelector(".save-state") : null;
  }

  function showError(elt, message) {
    var box = stateBox(elt);
    if (!box) { return; }
    box.textContent = "";
    var span = document.createElement("span");
    span.className = "save-state__error";
    span.setAttribute("role", "alert");
    span.textContent = message;
    box.appendChild(span);
  }

  // A failed autosave keeps the answer on screen and says so.
  document.addEventListener("htmx:responseError", function (event) {
    var status = event.detail.xhr ? event.detail.xhr.status : 0;
    var message = status === 401
      ? "ログインの有効期限が切れたため保存できませんでした。もう一度ログインしてください。"
      : "保存できませんでした（サーバーエラー " + status + "）。回答は画面に残っています。時間をおいて選び直すか、「入力内容を保存」を押してください。";
    showError(event.detail.elt, message);
  });
  // Confirmation before irreversible steps (forms posted without htmx).
  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-confirm]") : null;
    if (button && !window.confirm(button.getAttribute("data-confirm"))) {
      event.preventDefault();
    }
  });

  // 定型文: append the chosen phrase to the target textarea.
  document.addEventListener("change", function (event) {
    var picker = event.target;
    if (!picker.matches || !picker.matches("select[data-phrase-picker]") || !picker.value) { return; }
    var form = picker.closest("form");
    var target = form ? form.querySelector("#" + picker.getAttribute("data-phrase-picker")) : null;
    var option = picker.options[picker.selectedIndex];
    if (target && option) {
      target.value = (target.value ? target.value.replace(/\s+$/, "") + "\n" : "") + option.getAttribute("data-body");
      target.focus();
    }
    picker.value = "";
  });

  document.addEventListener("click", function (event) {
    if (event.target.matches && event.target.matches("[data-print]")) { window.print(); }
  });

  document.addEventListener("htmx:sendError", function (event) {
    showError(event.detail.elt, "通信できなかったため保存できませんでした。回答は画面に残っています。通信を確認して選び直すか、「入力内容を保存」を押してください。");
  });
})();
