// copsite: small progressive enhancements. Every page works without this file.
(function () {
  "use strict";

  var PREFIX = "copsite-draft:";
  // Set by the server's answer to a successful post, naming the drafts that
  // became posts (core/drafts.py).
  var POSTED = "copsite_posted";
  // How far the server's clock is ahead of this browser's, in ms, learnt from
  // the drafts endpoint: a draft's time is kept on the server's clock, so the
  // copies of two devices and the time of a post compare.
  var CLOCK = "copsite-draft-clock";
  // The server's copy is saved this long after typing stops (and as the page is left).
  var SAVE_AFTER = 1500;
  var WAIT_FOR_SERVER = 2500;
  // Never kept: the anti-forgery token, the draft's own key, the double-submit key.
  var NOT_KEPT = { csrfmiddlewaretoken: 1, draft_key: 1, submission_key: 1 };
  var NOT_KEPT_TYPES = { file: 1, password: 1, hidden: 1, submit: 1, button: 1, reset: 1, image: 1 };
  var bindings = [];
  var postedHere = {};  // keys this page learnt were posted: nothing restores them
  var applying = false;  // the events a restore sends are not typing

  function storage() {
    try { return window.localStorage; } catch (e) { return null; }
  }

  // Where this browser keeps a form's draft: a member's under their own name
  // (body[data-drafts-owner]), so on a shared computer one member's drafts
  // never show in another's forms, nor go to their copy on the server.
  function slot(key) {
    var owner = document.body && document.body.getAttribute("data-drafts-owner");
    return PREFIX + (owner ? owner + ":" : "") + key;
  }

  // Drafts: what is typed into a posting form survives a failed submit, a
  // lost connection or a closed tab. A form takes part by carrying a
  // draft_key field; every field of it is kept under that key (text, choices,
  // dates, tags; never files, passwords or hidden fields). For a member the
  // server keeps a copy too (body[data-drafts]: its address), so the draft
  // follows them to another device; the newer copy wins. Only the server's
  // word ends a draft: the copsite_posted cookie, read here before any draft
  // is put back, so a posted text never comes back into its box; and the
  // server's copy says when the key was last posted, so a copy of this
  // browser typed before then (posted from another device) is dropped.
  function forgetPosted(store) {
    var match = document.cookie.match(/(?:^|;\s*)copsite_posted=([^;]*)/);
    if (!match) return;
    document.cookie = POSTED + "=; Max-Age=0; Path=/; SameSite=Lax" + (location.protocol === "https:" ? "; Secure" : "");
    match[1].replace(/"/g, "").split(".").forEach(function (key) {
      if (!key) return;
      store.removeItem(slot(key));
      store.removeItem(PREFIX + key);  // kept before drafts had owners
      postedHere[key] = true;
      bindings.forEach(function (b) {
        if (b.key === key) { clearTimeout(b.timer); b.dirty = false; }
      });
    });
  }

  function serverNow() {
    var store = storage();
    return Date.now() + (store ? parseInt(store.getItem(CLOCK), 10) || 0 : 0);
  }

  function learnClock(sentAt, answer) {
    var store = storage();
    if (store && answer && typeof answer.now === "number") {
      store.setItem(CLOCK, String(Math.round(answer.now - (sentAt + Date.now()) / 2)));
    }
  }

  function draftFields(form) {
    return Array.prototype.filter.call(form.elements, function (el) {
      if (!el.name || NOT_KEPT[el.name] || /password/i.test(el.name)) return false;
      if (el.tagName === "TEXTAREA" || el.tagName === "SELECT") return true;
      return el.tagName === "INPUT" && !NOT_KEPT_TYPES[el.type];
    });
  }

  function isChoice(el) {
    return el.type === "checkbox" || el.type === "radio" || el.tagName === "SELECT";
  }

  // The form as a draft: {name: text} for boxes, {name: value} for radios and
  // single selects, {name: [values]} for checkboxes and multiple selects.
  function snapshot(form) {
    var values = {};
    draftFields(form).forEach(function (el) {
      if (el.type === "checkbox") {
        values[el.name] = (values[el.name] || []).concat(el.checked ? [el.value] : []);
      } else if (el.type === "radio") {
        if (!(el.name in values)) values[el.name] = "";
        if (el.checked) values[el.name] = el.value;
      } else if (el.tagName === "SELECT" && el.multiple) {
        values[el.name] = Array.prototype.filter.call(el.options, function (o) { return o.selected; })
          .map(function (o) { return o.value; });
      } else {
        values[el.name] = el.value;
      }
    });
    return values;
  }

  // Worth keeping: something typed, or a choice other than the page's own.
  function worthKeeping(form) {
    return draftFields(form).some(function (el) {
      if (el.type === "checkbox" || el.type === "radio") return el.checked !== el.defaultChecked;
      if (el.tagName === "SELECT") {
        return Array.prototype.some.call(el.options, function (o) { return o.selected !== o.defaultSelected; });
      }
      return el.value.trim() !== "";
    });
  }

  // Puts a draft back into the fields the person has not touched on this page.
  function apply(form, values, touched) {
    applying = true;
    try {
      draftFields(form).forEach(function (el) {
        if (touched[el.name] || !(el.name in values)) return;
        var v = values[el.name], changed = false;
        if (el.type === "checkbox" || el.type === "radio") {
          var on = el.type === "checkbox" ? Array.isArray(v) && v.indexOf(el.value) !== -1 : el.value === v;
          if (el.type === "checkbox" ? !Array.isArray(v) : typeof v !== "string" || !v) return;
          changed = el.checked !== on;
          el.checked = on;
        } else if (el.tagName === "SELECT") {
          var chosen = Array.isArray(v) ? v : [v];
          var known = Array.prototype.some.call(el.options, function (o) { return chosen.indexOf(o.value) !== -1; });
          if (!el.multiple && (typeof v !== "string" || !known)) return;
          Array.prototype.forEach.call(el.options, function (o) {
            var on = chosen.indexOf(o.value) !== -1;
            if (o.selected !== on) { o.selected = on; changed = true; }
          });
        } else if (typeof v === "string" && el.value !== v) {
          el.value = v;
          changed = true;
        }
        // Scripts that follow a field (a composer, a section shown for one kind) hear of it.
        if (changed) el.dispatchEvent(new Event(isChoice(el) ? "change" : "input", { bubbles: true }));
      });
    } finally {
      applying = false;
    }
  }

  // Resets the untouched fields to what the page came with (a draft dropped after it was shown).
  function clear(form, touched) {
    draftFields(form).forEach(function (el) {
      if (touched[el.name]) return;
      if (el.type === "checkbox" || el.type === "radio") el.checked = el.defaultChecked;
      else if (el.tagName === "SELECT") Array.prototype.forEach.call(el.options, function (o) { o.selected = o.defaultSelected; });
      else el.value = el.defaultValue;
    });
  }

  // This browser's copy: {v: 2, fields: {...}, updated: ms on the server's clock}.
  function localDraft(store, key, form) {
    var raw = store.getItem(key);
    if (!raw) return null;
    try {
      var saved = JSON.parse(raw);
      if (saved && saved.v === 2 && saved.fields && typeof saved.fields === "object") return saved;
      if (saved && typeof saved === "object") return { v: 2, fields: saved, updated: 0 };
    } catch (e) { /* a draft kept by an earlier version: the text of the form's box */ }
    var area = form.querySelector("textarea"), old = {};
    if (area) old[area.name] = raw;
    return { v: 2, fields: old, updated: 0 };
  }

  function keep(store, key, draft) {
    try {
      store.setItem(slot(key), JSON.stringify(draft));
    } catch (e) { /* the browser's storage is full: the server's copy (for a member) still follows */ }
  }

  function csrfToken(form) {
    var input = form.querySelector('input[name="csrfmiddlewaretoken"]') || document.querySelector('input[name="csrfmiddlewaretoken"]');
    return input ? input.value : "";
  }

  function ask(b, method, body, leaving) {
    var sentAt = Date.now();
    var init = {
      method: method,
      credentials: "same-origin",
      headers: { "Accept": "application/json", "X-CSRFToken": csrfToken(b.form), "Content-Type": "application/json" },
    };
    if (body) init.body = body;
    // keepalive lets a save sent as the page goes finish; browsers cap such a body at 64 KB.
    if (leaving && (!body || new Blob([body]).size < 60000)) init.keepalive = true;
    return fetch(b.url, init).then(function (response) {
      return response.json().catch(function () { return null; }).then(function (answer) {
        learnClock(sentAt, answer);
        return { status: response.status, answer: answer };
      });
    });
  }

  // Sends this browser's copy to the server (or deletes the server's), if it changed since.
  function push(b, leaving) {
    clearTimeout(b.timer);
    if (!b.url || !b.dirty || postedHere[b.key]) return;
    b.dirty = false;
    var draft = localDraft(b.store, slot(b.key), b.form);
    var body = draft ? JSON.stringify({ fields: draft.fields, updated: Math.round(draft.updated) }) : null;
    ask(b, draft ? "PUT" : "DELETE", body, leaving).then(function (reply) {
      var posted = reply.answer && reply.answer.posted;
      if (reply.status === 409 && posted) {
        // The key was posted (on another device) after this text was typed: it is that post.
        var now = localDraft(b.store, slot(b.key), b.form);
        if (now && now.updated <= posted) b.store.removeItem(slot(b.key));
      } else if (reply.status === 429 || reply.status >= 500) {
        b.dirty = true;  // the next change, or leaving the page, tries again
      }
    }).catch(function () { b.dirty = true; });
  }

  // Which copy goes into the form: this browser's, or the server's if newer;
  // neither if the key was posted after it was typed.
  function restore(b, server) {
    var local = localDraft(b.store, slot(b.key), b.form);
    var posted = server && server.posted;
    if (local && posted && local.updated <= posted) {
      b.store.removeItem(slot(b.key));  // posted from another device after this was typed
      if (b.shown) clear(b.form, b.touched);
      local = null;
    }
    var pick = local;
    if (server && server.fields && (!local || server.updated > local.updated)) {
      pick = { v: 2, fields: server.fields, updated: server.updated };
      if (!Object.keys(b.touched).length) keep(b.store, b.key, pick);
    }
    if (pick && !postedHere[b.key]) apply(b.form, pick.fields, b.touched);
    if (local && pick === local && b.url && (!server || !server.fields || server.updated < local.updated)) {
      // Typed here while the server's copy was older (offline, or before logging in): it follows now.
      b.dirty = true;
      clearTimeout(b.timer);
      b.timer = setTimeout(function () { push(b, false); }, SAVE_AFTER);
    }
    b.shown = true;
    // Other scripts (and the browser tests) can tell the draft is in place: for a member that
    // waits for the server's answer, so a posted text is never shown, even for a moment.
    b.form.setAttribute("data-draft-state", "restored");
  }

  function bindForm(store, form, key) {
    var unowned = store.getItem(PREFIX + key);
    if (unowned !== null && slot(key) !== PREFIX + key) {
      // A draft kept before drafts had owners: it is this member's now (the one who opened the form).
      try {
        if (store.getItem(slot(key)) === null) store.setItem(slot(key), unowned);
        store.removeItem(PREFIX + key);
      } catch (e) { /* the storage is full: it stays where it was */ }
    }
    var b = { form: form, key: key, store: store, touched: {}, dirty: false, timer: null, shown: false, url: null };
    var base = document.body && document.body.getAttribute("data-drafts");
    if (base && window.fetch) b.url = base + encodeURIComponent(key) + "/";
    bindings.push(b);
    function changed(event) {
      if (applying || !event.target.name) return;
      b.touched[event.target.name] = true;
      if (worthKeeping(form)) {
        keep(store, key, { v: 2, fields: snapshot(form), updated: serverNow() });
      } else {
        store.removeItem(slot(key));
      }
      delete postedHere[key];  // typed after the post: a new draft
      b.dirty = true;
      clearTimeout(b.timer);
      b.timer = setTimeout(function () { push(b, false); }, SAVE_AFTER);
    }
    form.addEventListener("input", changed);
    form.addEventListener("change", changed);
    // Sent: the server's answer decides what happens to the draft, not a save racing it.
    form.addEventListener("submit", function () { clearTimeout(b.timer); b.dirty = false; });
    if (!b.url) {
      restore(b, null);
      return;
    }
    // A member: the server's copy may be newer (another device), or the key posted since.
    var done = false;
    var fallback = setTimeout(function () { if (!done) { done = true; restore(b, null); } }, WAIT_FOR_SERVER);
    ask(b, "GET", null, false).then(function (reply) {
      var answer = (reply.status === 200 || reply.status === 404) ? reply.answer : null;
      if (done) { if (answer) restore(b, answer); return; }
      done = true;
      clearTimeout(fallback);
      restore(b, answer);
    }).catch(function () {
      if (!done) { done = true; clearTimeout(fallback); restore(b, null); }
    });
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
      bindForm(store, form, marker.value);
    });
  }

  // Leaving the page (or hiding it, on a phone): the server gets what changed since its last copy.
  function flush() {
    bindings.forEach(function (b) { if (b.dirty && document.contains(b.form)) push(b, true); });
  }
  window.addEventListener("pagehide", flush);
  document.addEventListener("visibilitychange", function () { if (document.visibilityState === "hidden") flush(); });

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
