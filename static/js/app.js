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

  // --- autosave: what is not saved yet, so that leaving the page warns -------------------------
  var unsaved = {};  // question fieldset id -> "typing" | "saving" | "failed"

  function questionOf(elt) {
    return elt && elt.closest ? elt.closest("fieldset.question") : null;
  }

  function mark(elt, how) {
    var question = questionOf(elt);
    if (!question) { return; }
    if (how) { unsaved[question.id] = how; } else { delete unsaved[question.id]; }
  }

  window.addEventListener("beforeunload", function (event) {
    if (Object.keys(unsaved).length) {
      event.preventDefault();
      event.returnValue = "";  // the browser shows its own "leave this page?" question
    }
  });

  document.addEventListener("htmx:beforeRequest", function (event) { mark(event.detail.elt, "saving"); });
  document.addEventListener("htmx:afterRequest", function (event) {
    var question = questionOf(event.detail.elt);
    // Typing that went on while the save ran keeps the question unsaved: its own save follows.
    if (event.detail.successful && question && unsaved[question.id] === "saving") { mark(question, null); }
  });

  function loginLink() {
    var base = document.body.getAttribute("data-login-url") || "/login";
    return base + "?next=" + encodeURIComponent(window.location.pathname + window.location.search);
  }

  // Signed in again in another tab: this page's token is the old session's. Take the new one and save again.
  function refreshTokenAndRetry(elt) {
    var url = document.body.getAttribute("data-token-url");
    return window.fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (!data || !data.csrf_token) { return false; }
        document.body.setAttribute("hx-headers", JSON.stringify({ "X-CSRFToken": data.csrf_token }));
        document.querySelectorAll("input[name=csrf_token]").forEach(function (input) { input.value = data.csrf_token; });
        var question = questionOf(elt);
        var source = question ? (question.querySelector("input[type=radio]:checked") || question.querySelector("textarea")) : null;
        if (source) { source.dispatchEvent(new Event(source.tagName === "TEXTAREA" ? "input" : "change", { bubbles: true })); }
        return true;
      })
      .catch(function () { return false; });
  }

  // A failed autosave keeps the answer on screen and says so; an expired session is said as such.
  document.addEventListener("htmx:responseError", function (event) {
    var xhr = event.detail.xhr;
    var status = xhr ? xhr.status : 0;
    mark(event.detail.elt, "failed");
    if (status === 400 && xhr.getResponseHeader("X-CSRF-Stale")) {
      var box = stateBox(event.detail.elt);
      if (box) { box.textContent = "ログインし直したため、確認用の情報を更新して保存し直しています…"; }
      refreshTokenAndRetry(event.detail.elt);
      return;
    }
    if (status === 401) {
      showError(event.detail.elt, "ログインの有効期限が切れたため保存できませんでした。回答は画面に残っています。"
        + "このページを閉じずに、別のタブでログインし直してから、もう一度選んでください。");
      var box = stateBox(event.detail.elt);
      if (box) {
        var link = document.createElement("a");
        link.href = loginLink();
        link.target = "_blank";
        link.rel = "noopener";
        link.textContent = "別のタブでログインする";
        box.appendChild(document.createTextNode(" "));
        box.appendChild(link);
      }
      return;
    }
    showError(event.detail.elt, "保存できませんでした（サーバーエラー " + status + "）。回答は画面に残っています。"
      + "時間をおいて選び直すか、「入力内容を保存」を押してください。");
  });

  // --- notes: a counter, and nothing typed is lost before it is saved ----------------------------
  function updateCounter(area) {
    var max = parseInt(area.getAttribute("data-max-length"), 10);
    var counter = document.getElementById(area.id + "-count");
    if (!counter || !max) { return; }
    var length = area.value.length;
    counter.textContent = length + " / " + max + "文字" + (length > max ? "（" + (length - max) + "文字多すぎます）" : "");
    counter.classList.toggle("char-count--over", length > max);
  }

  document.addEventListener("input", function (event) {
    var area = event.target;
    if (!area.matches || !area.matches("textarea[data-max-length]")) { return; }
    updateCounter(area);
    mark(area, "typing");
  });

  // --- the idle timeout: warn two minutes ahead, with a way to stay signed in ---------------------
  var idleSeconds = parseInt(document.body.getAttribute("data-idle-seconds") || "0", 10);
  var warnTimer = null;
  var expiredTimer = null;

  function restartIdleClock() {
    if (!idleSeconds) { return; }
    var box = document.getElementById("session-warning");
    if (box) { box.hidden = true; }
    window.clearTimeout(warnTimer);
    window.clearTimeout(expiredTimer);
    warnTimer = window.setTimeout(function () {
      if (box) { box.hidden = false; box.querySelector("button").focus(); }
    }, Math.max(idleSeconds - 120, 1) * 1000);
    expiredTimer = window.setTimeout(function () {
      var text = document.getElementById("session-warning-text");
      if (text) {
        text.textContent = "操作がなかったため、ログインの有効期限が切れました。入力中の内容は画面に残っています。"
          + "別のタブでログインし直してから保存してください。";
      }
      var button = box ? box.querySelector("button") : null;
      if (button) { button.hidden = true; }
    }, idleSeconds * 1000);
  }

  document.addEventListener("click", function (event) {
    if (!event.target.matches || !event.target.matches("[data-keepalive]")) { return; }
    var url = document.body.getAttribute("data-keepalive-url");
    window.fetch(url, { credentials: "same-origin", headers: { "HX-Request": "true" } }).then(function (response) {
      if (response.ok) { restartIdleClock(); }
    });
  });
  document.addEventListener("htmx:afterRequest", restartIdleClock);
  restartIdleClock();
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
