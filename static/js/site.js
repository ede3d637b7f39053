// copsite: small progressive enhancements. Every page works without this file.
(function () {
  "use strict";

  var PREFIX = "copsite-draft:";
  // Set by the server's answer to a successful post, naming the drafts that
  // became posts (core/drafts.py).
  var POSTED = "copsite_posted";

  function storage() {
    try { return window.localStorage; } catch (e) { return null; }
  }

  // Drafts: what is typed into a posting form survives a failed submit, a
  // lost connection or a closed tab. A form takes part by carrying a
  // draft_key field; its boxes are kept under that key. Only the server's
  // word ends a draft: the copsite_posted cookie, read here before any draft
  // is put back, so a posted text never comes back into its box.
  function forgetPosted(store) {
    var match = document.cookie.match(/(?:^|;\s*)copsite_posted=([^;]*)/);
    if (!match) return;
    document.cookie = POSTED + "=; Max-Age=0; Path=/; SameSite=Lax" + (location.protocol === "https:" ? "; Secure" : "");
    match[1].replace(/"/g, "").split(".").forEach(function (key) {
      if (key) store.removeItem(PREFIX + key);
    });
  }

  function draftFields(form) {
    return Array.prototype.filter.call(form.querySelectorAll("textarea, input"), function (el) {
      return el.name && (el.tagName === "TEXTAREA" || el.type === "text" || el.type === "url");
    });
  }

  function savedDraft(store, key, form) {
    var raw = store.getItem(key);
    if (!raw) return null;
    try {
      var saved = JSON.parse(raw);
      if (saved && typeof saved === "object") return saved;
    } catch (e) { /* a draft kept by an earlier version: the text of the form's box */ }
    var area = form.querySelector("textarea"), old = {};
    if (area) old[area.name] = raw;
    return old;
  }

  function bindDrafts(root) {
    var store = storage();
    if (!store) return;
    forgetPosted(store);
    store.removeItem(PREFIX + "sent");  // the old "a success message means posted" marker
    root.querySelectorAll('input[name="draft_key"]').forEach(function (marker) {
      var form = marker.form;
      if (!form || form.dataset.draftBound) return;
      form.dataset.draftBound = "1";
      var key = PREFIX + marker.value;
      var fields = draftFields(form);
      var saved = savedDraft(store, key, form);
      if (saved) {
        fields.forEach(function (el) {
          if (!el.value && typeof saved[el.name] === "string") el.value = saved[el.name];
        });
      }
      form.addEventListener("input", function () {
        var draft = {}, any = false;
        fields.forEach(function (el) {
          if (el.value) { draft[el.name] = el.value; any = true; }
        });
        if (any) store.setItem(key, JSON.stringify(draft)); else store.removeItem(key);
      });
    });
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

  // An htmx post's answer may carry the cookie even when it swaps nothing in.
  document.addEventListener("htmx:afterRequest", function () {
    var store = storage();
    if (store) forgetPosted(store);
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    bindDrafts(event.target.parentNode || document);
    var area = event.target.querySelector && event.target.querySelector("textarea");
    if (area && event.detail.requestConfig && event.detail.requestConfig.verb === "get") area.focus();
    var posted = event.target.querySelector && event.target.querySelector(".just-posted");
    if (posted) {
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
