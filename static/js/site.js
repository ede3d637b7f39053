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

  // The bell. Without JavaScript it is a link to the notifications page. Here the
  // link gives way to a button (aria-expanded) that opens the latest notifications
  // under it, fetched by htmx each time it opens. Focus moves into the dropdown when
  // it has loaded; Escape closes it and gives focus back to the button; a click or
  // focus elsewhere closes it.
  function bindBell() {
    var bell = document.querySelector("[data-bell]");
    if (!bell || bell.dataset.bound || !window.htmx) return;
    var link = bell.querySelector("[data-bell-link]");
    var button = bell.querySelector("[data-bell-button]");
    var panel = button && document.getElementById(button.getAttribute("aria-controls"));
    if (!link || !panel) return;
    bell.dataset.bound = "1";
    link.hidden = true;
    button.hidden = false;

    function isOpen() { return button.getAttribute("aria-expanded") === "true"; }
    function open() {
      button.setAttribute("aria-expanded", "true");
      panel.hidden = false;
      panel.innerHTML = "";
      var loading = document.createElement("p");
      loading.className = "bell-loading muted";
      loading.setAttribute("role", "status");
      loading.textContent = "Loading notifications…";
      panel.appendChild(loading);
      window.htmx.trigger(panel, "bell-open");
    }
    function close(giveFocusBack) {
      if (!isOpen()) return;
      button.setAttribute("aria-expanded", "false");
      panel.hidden = true;
      if (giveFocusBack) button.focus();
    }
    function failed() {
      panel.innerHTML = "";
      var box = document.createElement("p");
      box.className = "bell-loading";
      box.setAttribute("role", "alert");
      box.appendChild(document.createTextNode("Couldn't load your notifications. "));
      var page = document.createElement("a");
      page.href = link.href;
      page.textContent = "Open the notifications page";
      box.appendChild(page);
      panel.appendChild(box);
    }

    button.addEventListener("click", function () { if (isOpen()) close(false); else open(); });
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && isOpen()) {
        event.preventDefault();
        close(bell.contains(document.activeElement) || document.activeElement === document.body);
      }
    });
    document.addEventListener("click", function (event) {
      if (isOpen() && !bell.contains(event.target)) close(false);
    });
    bell.addEventListener("focusout", function (event) {
      if (isOpen() && event.relatedTarget && !bell.contains(event.relatedTarget)) close(false);
    });
    // Back to a page kept in the browser's memory: the dropdown shows what was true then; closed.
    window.addEventListener("pageshow", function (event) { if (event.persisted) close(false); });
    panel.addEventListener("htmx:afterSwap", function (event) {
      if (event.target !== panel || !isOpen()) return;
      var heading = panel.querySelector("[data-bell-focus]");
      if (heading) heading.focus();
    });
    panel.addEventListener("htmx:responseError", function (event) { if (event.target === panel) failed(); });
    panel.addEventListener("htmx:sendError", function (event) { if (event.target === panel) failed(); });
  }

  // Time zones: a filter box above every list of them, and at sign-up the browser's own zone chosen.
  // Without this script the list is a plain <select> grouped by region (type a letter to jump).
  var zoneFilters = 0;

  function browserZone() {
    try {
      var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
      return (zone === "Etc/UTC" || zone === "Etc/GMT" || zone === "GMT" || zone === "Etc/Universal") ? "UTC" : zone;
    } catch (e) {
      return "";
    }
  }

  function detectZone(select) {
    var zone = browserZone();
    if (!zone) return;
    for (var i = 0; i < select.options.length; i++) {
      if (select.options[i].value === zone) {
        select.value = zone;
        var help = document.getElementById(select.id + "_helptext");
        if (help) help.textContent = "Your browser says " + select.options[i].textContent.split(",")[0] + ". " + help.textContent;
        return;
      }
    }
  }

  function filterZones(select, input, status) {
    var words = input.value.toLowerCase().replace(/_/g, " ").split(/\s+/).filter(Boolean);
    var shown = 0;
    var first = null;
    Array.prototype.forEach.call(select.querySelectorAll("optgroup"), function (group) {
      var inGroup = 0;
      Array.prototype.forEach.call(group.querySelectorAll("option"), function (option) {
        var text = (group.label + " " + option.textContent + " " + option.value).toLowerCase().replace(/_/g, " ");
        var match = words.every(function (word) { return text.indexOf(word) !== -1; });
        option.hidden = !match;
        option.disabled = !match && !option.selected;
        if (match) {
          inGroup += 1;
          if (!first) first = option;
        }
      });
      group.hidden = inGroup === 0;
      shown += inGroup;
    });
    var selected = select.options[select.selectedIndex];
    if (first && (!selected || selected.hidden)) {
      select.value = first.value;
      select.dispatchEvent(new Event("change", { bubbles: true }));
    }
    status.textContent = words.length ? (shown === 1 ? "1 time zone matches." : shown + " time zones match.") : "";
  }

  function bindZoneLists(root) {
    root.querySelectorAll("select[data-time-zone-list]").forEach(function (select) {
      if (select.dataset.zoneBound) return;
      select.dataset.zoneBound = "1";
      if (select.hasAttribute("data-detect-time-zone")) detectZone(select);
      zoneFilters += 1;
      var id = "zone-filter-" + zoneFilters;
      var box = document.createElement("div");
      box.className = "zone-filter";
      var label = document.createElement("label");
      label.htmlFor = id;
      label.textContent = "Find a place";
      var input = document.createElement("input");
      input.type = "search";
      input.id = id;
      input.placeholder = "City, country or region";
      input.setAttribute("aria-controls", select.id);
      input.setAttribute("autocomplete", "off");
      var status = document.createElement("span");
      status.className = "visually-hidden";
      status.setAttribute("role", "status");
      box.appendChild(label);
      box.appendChild(input);
      box.appendChild(status);
      select.parentNode.insertBefore(box, select);
      input.addEventListener("input", function () { filterZones(select, input, status); });
      // Enter picks the first match instead of sending the form half-filled.
      input.addEventListener("keydown", function (event) {
        if (event.key === "Enter") {
          event.preventDefault();
          select.focus();
        }
      });
    });
  }

  // A bookmark's reminder: typing a date or a time of one's own chooses "at a date and time I choose".
  document.addEventListener("input", function (event) {
    var custom = event.target.closest && event.target.closest("[data-reminder-custom]");
    var form = custom && custom.closest("form");
    var choice = form && form.querySelector('input[type="radio"][name$="when"][value="custom"]');
    if (choice) choice.checked = true;
  });

  document.addEventListener("DOMContentLoaded", function () {
    bindDrafts(document);
    bindZoneLists(document);
    bindBell();
  });

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
