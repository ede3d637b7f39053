// copsite: small progressive enhancements. Every page works without this file.
(function () {
  "use strict";

  var PREFIX = "copsite-draft:";

  function storage() {
    try { return window.localStorage; } catch (e) { return null; }
  }

  // Drafts: text typed into a post form survives a failed submit, a lost
  // connection or a closed tab. Cleared once the site confirms the post.
  function bindDrafts(root) {
    var store = storage();
    if (!store) return;
    root.querySelectorAll("form[data-draft-key]").forEach(function (form) {
      if (form.dataset.draftBound) return;
      form.dataset.draftBound = "1";
      var key = PREFIX + form.dataset.draftKey;
      var area = form.querySelector("textarea");
      if (!area) return;
      var saved = store.getItem(key);
      if (saved && !area.value) area.value = saved;
      area.addEventListener("input", function () {
        if (area.value) store.setItem(key, area.value); else store.removeItem(key);
      });
      form.addEventListener("submit", function (event) {
        var submitter = event.submitter;
        if (!submitter || submitter.name !== "preview") store.setItem(PREFIX + "sent", key);
      });
    });
    // A success message after a submit means the draft became a post.
    var sent = store.getItem(PREFIX + "sent");
    if (sent && document.querySelector(".message-success")) {
      store.removeItem(sent);
      store.removeItem(PREFIX + "sent");
    }
  }

  function showError(form, text) {
    var box = form.querySelector(".send-error");
    if (!box) {
      box = document.createElement("div");
      box.className = "alert alert-error send-error";
      box.setAttribute("role", "alert");
      form.insertBefore(box, form.firstChild);
    }
    box.textContent = text;
  }

  document.addEventListener("DOMContentLoaded", function () { bindDrafts(document); });

  document.addEventListener("htmx:oobAfterSwap", function () { bindDrafts(document); });

  document.addEventListener("htmx:afterSwap", function (event) {
    bindDrafts(event.target.parentNode || document);
    var area = event.target.querySelector && event.target.querySelector("textarea");
    if (area && event.detail.requestConfig && event.detail.requestConfig.verb === "get") area.focus();
    var posted = event.target.querySelector && event.target.querySelector(".just-posted");
    if (posted) {
      var store = storage();
      var form = event.detail.requestConfig && event.detail.requestConfig.elt.closest("form[data-draft-key]");
      if (store && form) store.removeItem(PREFIX + form.dataset.draftKey);
      posted.setAttribute("tabindex", "-1");
      posted.focus();
    }
  });

  // The watching control (a <details> menu): Escape or a click elsewhere closes it, and
  // after htmx swaps in the new level, focus returns to its button.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    var open = event.target.closest && event.target.closest(".watch-menu-toggle[open]");
    if (!open) return;
    open.removeAttribute("open");
    open.querySelector("summary").focus();
  });
  document.addEventListener("click", function (event) {
    document.querySelectorAll(".watch-menu-toggle[open]").forEach(function (menu) {
      if (!menu.contains(event.target)) menu.removeAttribute("open");
    });
  });
  document.addEventListener("htmx:afterSwap", function (event) {
    var control = event.detail.target;
    if (control && control.classList && control.classList.contains("watch-control")) {
      var fresh = document.getElementById(control.id);
      var summary = fresh && fresh.querySelector("summary");
      if (summary) summary.focus();
    }
  });

  // A new attempt clears the last attempt's error message.
  document.addEventListener("htmx:beforeRequest", function (event) {
    var form = event.detail.elt.closest && event.detail.elt.closest("form");
    if (form) form.querySelectorAll(".send-error").forEach(function (box) { box.remove(); });
  });

  // htmx leaves the form untouched when a request fails, so the text stays;
  // say what happened.
  document.addEventListener("htmx:sendError", function (event) {
    var form = event.detail.elt.closest("form");
    if (form) showError(form, "Couldn't reach the site. Check your connection and send again: your text is still here.");
  });
  document.addEventListener("htmx:responseError", function (event) {
    var form = event.detail.elt.closest("form");
    var xhr = event.detail.xhr;
    var status = xhr.status;
    // Rate limits answer htmx with one plain-text sentence saying how long to wait;
    // a refusal (403) with the "not allowed" page, whose sentence says why.
    var type = xhr.getResponseHeader("Content-Type") || "";
    var said = /^text\/plain/.test(type) ? xhr.responseText : "";
    if (!said && /^text\/html/.test(type)) {
      var why = new DOMParser().parseFromString(xhr.responseText, "text/html").querySelector(".refusal");
      said = why ? why.textContent.trim() : "";
    }
    var text = status === 429
      ? (said || "You're doing that faster than this site allows.") + " Your text is still here."
      : (said || "That didn't work (error " + status + ").") + " Your text is still here; try again.";
    if (form) showError(form, text);
  });
})();
