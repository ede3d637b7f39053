// copsite: the composer for Markdown boxes (textarea[data-composer]). Every form works without it.
//
// What it adds to each box: a formatting toolbar with keyboard shortcuts that edits the Markdown
// text itself (no rich-text editing), a live preview rendered by the server with the function the
// text will be saved with, @mention suggestions, and on thread pages a "Quote" button for text
// selected in a post. The form names the endpoints: data-preview-url and data-mentions-url
// (templates/includes/forms.html, composer_urls). data-composer="post" previews as a post (@mentions
// linked), "text" as a resource or event description.
//
// Contract with the upload script: the picture/file button is drawn only when the textarea carries
// data-attach-url. Clicking it (or nothing else) dispatches a bubbling CustomEvent
// "copsite:attach-pick" on the textarea, detail {textarea}; the upload script answers by opening
// its own file picker and inserts the Markdown for the uploaded file into that textarea itself.
(function () {
  "use strict";

  var MAC = /Mac|iPhone|iPad/.test(navigator.platform || navigator.userAgent);
  var MOD = MAC ? "⌘" : "Ctrl+";
  var PREVIEW_DELAY = 400;
  var MENTION_DELAY = 150;
  var composers = 0;

  // name, label, shortcut (shown and matched: key or code, shift), what it does.
  var ACTIONS = [
    { name: "bold", label: "Bold", key: "b", show: "B", run: function (a) { wrap(a, "**", "**", "bold text"); } },
    { name: "italic", label: "Italic", key: "i", show: "I", run: function (a) { wrap(a, "_", "_", "italic text"); } },
    { name: "link", label: "Link", key: "k", show: "K", run: link },
    { name: "quote", label: "Quote", code: ["Digit9", "Period"], shift: true, show: "Shift+9", run: function (a) { lines(a, "quote"); } },
    { name: "code", label: "Code", key: "e", show: "E", run: code },
    { name: "bullets", label: "Bulleted list", code: ["Digit8"], shift: true, show: "Shift+8", run: function (a) { lines(a, "bullets"); } },
    { name: "numbers", label: "Numbered list", code: ["Digit7"], shift: true, show: "Shift+7", run: function (a) { lines(a, "numbers"); } },
    { name: "attach", label: "Picture or file", attach: true, run: attach }
  ];

  // --- Editing the text ------------------------------------------------------------------------

  // Replace [start, end) with text, then select [selStart, selEnd). insertText keeps the browser's
  // undo history; where it is missing or refused, setRangeText (no undo) and an input event.
  function replace(area, start, end, text, selStart, selEnd) {
    area.focus();
    area.setSelectionRange(start, end);
    var before = area.value;
    var done = false;
    try { done = document.execCommand && document.execCommand("insertText", false, text); } catch (e) { done = false; }
    var expected = before.slice(0, start) + text + before.slice(end);
    if (!done || area.value !== expected) {
      area.value = before;
      area.setRangeText(text, start, end, "end");
      area.dispatchEvent(new Event("input", { bubbles: true }));
    }
    area.setSelectionRange(selStart, selEnd);
  }

  function wrap(area, open, close, placeholder) {
    var s = area.selectionStart, e = area.selectionEnd, v = area.value;
    var chosen = v.slice(s, e);
    // Already wrapped: unwrap (the same button again undoes it).
    if (chosen && v.slice(s - open.length, s) === open && v.slice(e, e + close.length) === close) {
      replace(area, s - open.length, e + close.length, chosen, s - open.length, e - open.length);
      return;
    }
    var inner = chosen || placeholder;
    var start = s + open.length;
    replace(area, s, e, open + inner + close, start, start + inner.length);
  }

  function link(area) {
    var s = area.selectionStart, e = area.selectionEnd;
    var chosen = area.value.slice(s, e);
    if (/^https?:\/\/\S+$/.test(chosen)) {
      replace(area, s, e, "[link text](" + chosen + ")", s + 1, s + 10);
    } else {
      var words = chosen || "link text";
      var at = s + words.length + 3;
      replace(area, s, e, "[" + words + "](https://)", chosen ? at : s + 1, chosen ? at + 8 : s + 1 + words.length);
    }
  }

  function code(area) {
    var s = area.selectionStart, e = area.selectionEnd;
    var chosen = area.value.slice(s, e);
    if (chosen.indexOf("\n") === -1) { wrap(area, "`", "`", "code"); return; }
    var lead = s > 0 && area.value.charAt(s - 1) !== "\n" ? "\n" : "";
    var block = lead + "```\n" + chosen.replace(/\n$/, "") + "\n```\n";
    var start = s + lead.length + 4;
    replace(area, s, e, block, start, start + chosen.replace(/\n$/, "").length);
  }

  var PREFIX = {
    quote: { test: /^> ?/, make: function () { return "> "; }, placeholder: "quoted text" },
    bullets: { test: /^[-*+] /, make: function () { return "- "; }, placeholder: "list item" },
    numbers: { test: /^\d+[.)] /, make: function (i) { return (i + 1) + ". "; }, placeholder: "list item" }
  };

  // Line actions work on whole lines: every selected line gets the prefix, or loses it when all have it.
  function lines(area, kind) {
    var rule = PREFIX[kind], v = area.value;
    var s = area.selectionStart, e = area.selectionEnd;
    var start = v.lastIndexOf("\n", s - 1) + 1;
    var end = v.indexOf("\n", e > s && v.charAt(e - 1) === "\n" ? e - 1 : e);
    if (end === -1) end = v.length;
    var block = v.slice(start, end);
    var rows = block.split("\n");
    if (!block) {
      var prefix = rule.make(0);
      replace(area, start, end, prefix + rule.placeholder, start + prefix.length, start + prefix.length + rule.placeholder.length);
      return;
    }
    var all = rows.every(function (row) { return !row.trim() || rule.test.test(row); });
    var n = 0;
    var out = rows.map(function (row) {
      if (all) return row.replace(rule.test, "");
      if (!row.trim()) return row;
      return rule.make(n++) + row;
    }).join("\n");
    replace(area, start, end, out, start, start + out.length);
  }

  function attach(area) {
    area.dispatchEvent(new CustomEvent("copsite:attach-pick", { bubbles: true, detail: { textarea: area } }));
  }

  // --- The toolbar -------------------------------------------------------------------------------

  function shortcutOf(action) {
    if (!action.show) return "";
    return MOD + action.show;
  }

  function ariaShortcut(action) {
    return action.show ? "Control+" + action.show + " Meta+" + action.show : "";
  }

  function toolbar(area) {
    var bar = document.createElement("div");
    bar.className = "composer-toolbar";
    bar.setAttribute("role", "toolbar");
    bar.setAttribute("aria-label", "Formatting");
    bar.setAttribute("aria-controls", area.id);
    ACTIONS.forEach(function (action) {
      if (action.attach && !area.hasAttribute("data-attach-url")) return;
      var button = document.createElement("button");
      button.type = "button";
      button.className = "composer-button composer-" + action.name;
      button.dataset.action = action.name;
      var keys = shortcutOf(action);
      button.title = keys ? action.label + " (" + keys + ")" : action.label;
      button.setAttribute("aria-label", button.title);
      if (keys) button.setAttribute("aria-keyshortcuts", ariaShortcut(action));
      button.tabIndex = bar.children.length ? -1 : 0;
      var face = document.createElement("span");
      face.setAttribute("aria-hidden", "true");
      face.textContent = FACES[action.name];
      button.appendChild(face);
      button.addEventListener("click", function () { action.run(area); });
      bar.appendChild(button);
    });
    // One tab stop; arrow keys move along the toolbar (roving tabindex).
    bar.addEventListener("keydown", function (event) {
      var buttons = Array.prototype.slice.call(bar.querySelectorAll("button"));
      var i = buttons.indexOf(document.activeElement);
      if (i === -1) return;
      var next = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: buttons.length - 1 }[event.key];
      if (next === undefined) return;
      event.preventDefault();
      next = (next + buttons.length) % buttons.length;
      buttons[i].tabIndex = -1;
      buttons[next].tabIndex = 0;
      buttons[next].focus();
    });
    return bar;
  }

  var FACES = {
    bold: "B", italic: "I", link: "Link", quote: "“ ”", code: "</>",
    bullets: "• List", numbers: "1. List", attach: "Picture/file"
  };

  function shortcut(area, event) {
    if (!(event.ctrlKey || event.metaKey) || event.altKey) return false;
    var key = (event.key || "").toLowerCase();
    for (var i = 0; i < ACTIONS.length; i++) {
      var action = ACTIONS[i];
      var hit = action.code
        ? event.shiftKey && action.code.indexOf(event.code) !== -1
        : action.key && !event.shiftKey && key === action.key;
      if (hit) {
        event.preventDefault();
        action.run(area);
        return true;
      }
    }
    return false;
  }

  // --- Live preview ------------------------------------------------------------------------------

  function csrfToken(form) {
    var field = form && form.querySelector('input[name="csrfmiddlewaretoken"]');
    return field ? field.value : "";
  }

  function livePreview(area, form, box, body, note) {
    var url = form.getAttribute("data-preview-url");
    var timer = null, sent = 0, shown = 0, last = null;
    function update() {
      var text = area.value;
      if (text === last) return;
      last = text;
      if (!text.trim()) {
        body.innerHTML = "";
        note.textContent = "Nothing to preview yet.";
        return;
      }
      var mine = ++sent;
      var data = new FormData();
      data.append("text", text);
      data.append("markup", area.getAttribute("data-composer") || "post");
      data.append("csrfmiddlewaretoken", csrfToken(form));
      box.setAttribute("aria-busy", "true");
      fetch(url, { method: "POST", body: data, credentials: "same-origin", headers: { "X-CSRFToken": csrfToken(form) } })
        .then(function (response) {
          return response.text().then(function (answer) {
            if (mine < shown) return;
            shown = mine;
            if (response.ok) {
              body.innerHTML = answer;
              note.textContent = "";
              return;
            }
            // Said in plain text (too long, too fast…): shown as text, never as markup.
            var plain = /^text\/plain/.test(response.headers.get("Content-Type") || "");
            note.textContent = plain ? answer : "The preview isn't available right now (error " + response.status + ").";
            last = null;  // try again after the next pause
          });
        })
        .catch(function () {
          if (mine < shown) return;
          note.textContent = "Couldn't reach the site for a preview. Your text is still here.";
          last = null;
        })
        .then(function () { if (mine === sent) box.removeAttribute("aria-busy"); });
    }
    area.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(update, PREVIEW_DELAY);
    });
    return update;
  }

  // --- @mentions -----------------------------------------------------------------------------------

  var MENTION_BEFORE_CARET = /(^|[^\p{L}\p{N}_@])@([\p{L}\p{N}_.+-]{1,40})$/u;

  function mentions(area, form, holder) {
    var url = form.getAttribute("data-mentions-url");
    var id = area.id || ("composer-area-" + composers);
    var list = document.createElement("ul");
    list.id = id + "-mentions";
    list.className = "composer-mentions";
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-label", "People to mention");
    list.hidden = true;
    var status = document.createElement("span");
    status.className = "visually-hidden";
    // aria-live rather than role="status": the page's messages are its one status region.
    status.setAttribute("aria-live", "polite");
    holder.appendChild(list);
    holder.appendChild(status);
    // The ARIA combobox pattern: aria-expanded and aria-activedescendant need the combobox role.
    area.setAttribute("role", "combobox");
    area.setAttribute("aria-autocomplete", "list");
    area.setAttribute("aria-haspopup", "listbox");
    area.setAttribute("aria-controls", list.id);
    area.setAttribute("aria-expanded", "false");

    var timer = null, asked = 0, active = -1, people = [], token = null;

    function close() {
      list.hidden = true;
      list.innerHTML = "";
      people = [];
      active = -1;
      area.setAttribute("aria-expanded", "false");
      area.removeAttribute("aria-activedescendant");
    }

    function mark(i) {
      active = i;
      Array.prototype.forEach.call(list.children, function (item, j) {
        item.setAttribute("aria-selected", j === i ? "true" : "false");
      });
      var item = list.children[i];
      if (item) {
        area.setAttribute("aria-activedescendant", item.id);
        if (item.scrollIntoView) item.scrollIntoView({ block: "nearest" });
      }
    }

    function choose(i) {
      var person = people[i];
      if (!person || !token) return;
      var text = "@" + person.username + " ";
      var at = token.start + text.length;
      close();
      replace(area, token.start, token.end, text, at, at);
    }

    function show(found) {
      people = found;
      list.innerHTML = "";
      if (!found.length) {
        close();
        status.textContent = "No one in this community matches.";
        return;
      }
      found.forEach(function (person, i) {
        var item = document.createElement("li");
        item.id = list.id + "-" + i;
        item.setAttribute("role", "option");
        item.className = "composer-mention";
        var name = document.createElement("span");
        name.className = "composer-mention-name";
        name.textContent = person.name;
        var handle = document.createElement("span");
        handle.className = "composer-mention-handle muted";
        handle.textContent = "@" + person.username;
        item.appendChild(name);
        item.appendChild(document.createTextNode(" "));
        item.appendChild(handle);
        // mousedown, not click: the box keeps focus and its caret.
        item.addEventListener("mousedown", function (event) { event.preventDefault(); choose(i); });
        list.appendChild(item);
      });
      list.hidden = false;
      area.setAttribute("aria-expanded", "true");
      mark(0);
      status.textContent = found.length === 1 ? "1 person found." : found.length + " people found.";
    }

    function look() {
      var caret = area.selectionStart;
      if (caret !== area.selectionEnd) { close(); return; }
      var match = area.value.slice(0, caret).match(MENTION_BEFORE_CARET);
      if (!match) { token = null; close(); return; }
      token = { start: caret - match[2].length - 1, end: caret };
      var mine = ++asked;
      fetch(url + "?q=" + encodeURIComponent(match[2]), { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) { return response.ok ? response.json() : { people: [] }; })
        .then(function (answer) { if (mine === asked && token) show(answer.people || []); })
        .catch(function () { if (mine === asked) close(); });
    }

    area.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(look, MENTION_DELAY);
    });
    area.addEventListener("blur", function () { setTimeout(close, 100); });
    return function keydown(event) {
      if (list.hidden) return false;
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        var step = event.key === "ArrowDown" ? 1 : -1;
        mark((active + step + people.length) % people.length);
        return true;
      }
      if ((event.key === "Enter" || event.key === "Tab") && active !== -1 && !event.shiftKey) {
        event.preventDefault();
        choose(active);
        return true;
      }
      if (event.key === "Escape") {
        event.preventDefault();
        close();
        return true;
      }
      return false;
    };
  }

  // --- Putting it together -------------------------------------------------------------------

  function setup(area) {
    if (area.dataset.composerBound) return;
    var form = area.form || area.closest("form");
    if (!form) return;
    area.dataset.composerBound = "1";
    composers += 1;
    if (!area.id) area.id = "composer-area-" + composers;

    // Moving a box into the composer takes its focus (site.js focuses a reply form htmx brought in).
    var hadFocus = document.activeElement === area;
    var box = document.createElement("div");
    box.className = "composer";
    box.dataset.view = "write";
    area.parentNode.insertBefore(box, area);

    var head = document.createElement("div");
    head.className = "composer-head";
    head.appendChild(toolbar(area));
    box.appendChild(head);

    var panes = document.createElement("div");
    panes.className = "composer-panes";
    box.appendChild(panes);
    var holder = document.createElement("div");
    holder.className = "composer-write";
    panes.appendChild(holder);
    holder.appendChild(area);

    var keydownForMentions = form.hasAttribute("data-mentions-url") ? mentions(area, form, holder) : null;

    if (form.hasAttribute("data-preview-url")) {
      // Write / Preview: on a narrow screen one at a time, on a wide one the preview sits under the box.
      var views = document.createElement("div");
      views.className = "composer-views";
      views.setAttribute("role", "group");
      views.setAttribute("aria-label", "Show");
      ["write", "preview"].forEach(function (name) {
        var button = document.createElement("button");
        button.type = "button";
        button.className = "composer-view";
        button.dataset.view = name;
        button.textContent = name === "write" ? "Write" : "Preview";
        button.setAttribute("aria-pressed", name === "write" ? "true" : "false");
        button.addEventListener("click", function () {
          box.dataset.view = name;
          views.querySelectorAll("button").forEach(function (b) {
            b.setAttribute("aria-pressed", b.dataset.view === name ? "true" : "false");
          });
          if (name === "preview") update();
          else area.focus();
        });
        views.appendChild(button);
      });
      head.appendChild(views);
      // A formatting button while the preview is shown: back to the text it changes.
      head.firstChild.addEventListener("click", function () {
        if (box.dataset.view === "preview") views.querySelector('[data-view="write"]').click();
      }, true);

      var pane = document.createElement("section");
      pane.className = "composer-preview";
      pane.setAttribute("aria-label", "Live preview");
      var title = document.createElement("p");
      title.className = "composer-preview-title muted";
      title.setAttribute("aria-hidden", "true");  // the region's own name says it
      title.textContent = "Preview";
      pane.appendChild(title);
      var note = document.createElement("p");
      note.className = "composer-preview-note muted";
      note.setAttribute("aria-live", "polite");
      note.textContent = "Nothing to preview yet.";
      var body = document.createElement("div");
      body.className = "prose user-content";
      body.setAttribute("hx-disable", "");
      pane.appendChild(note);
      pane.appendChild(body);
      panes.appendChild(pane);
      var update = livePreview(area, form, pane, body, note);
      if (area.value.trim()) update();
      // The page's own preview trip is for browsers without this script.
      form.querySelectorAll('button[name="preview"]').forEach(function (button) { button.hidden = true; });
    }

    if (hadFocus) area.focus();

    area.addEventListener("keydown", function (event) {
      if (keydownForMentions && keydownForMentions(event)) return;
      shortcut(area, event);
    });
  }

  function init(root) {
    if (!root || !root.querySelectorAll) return;
    if (root.matches && root.matches("textarea[data-composer]")) setup(root);
    root.querySelectorAll("textarea[data-composer]").forEach(setup);
  }

  // --- Quoting from a post ---------------------------------------------------------------------

  function replyBox() {
    return document.querySelector(".reply-box textarea[data-composer]");
  }

  function quoteInto(article, text) {
    var area = replyBox();
    if (!area || !article) return;
    text = text.replace(/^\n+|\s+$/g, "");
    if (!text) return;
    var block = '[quote="' + article.getAttribute("data-username") + ", post:" + article.getAttribute("data-post-id") + '"]\n' + text + "\n[/quote]\n\n";
    var at = document.activeElement === area ? area.selectionEnd : area.value.length;
    var before = area.value.slice(0, at);
    var lead = !before || /\n\n$/.test(before) ? "" : (/\n$/.test(before) ? "\n" : "\n\n");
    area.scrollIntoView({ block: "center" });
    var end = at + lead.length + block.length;
    replace(area, at, area.selectionEnd > at ? area.selectionEnd : at, lead + block, end, end);
    area.focus();
  }

  function selectedInPost() {
    var selection = window.getSelection();
    if (!selection || selection.isCollapsed || !selection.rangeCount) return null;
    var range = selection.getRangeAt(0);
    var node = range.commonAncestorContainer;
    var element = node.nodeType === 1 ? node : node.parentElement;
    var prose = element && element.closest(".post article[data-username] .prose");
    if (!prose) return null;
    var text = selection.toString();
    return text.trim() ? { article: prose.closest("article"), text: text, range: range } : null;
  }

  function quoting() {
    if (!replyBox()) return;
    var button = document.createElement("button");
    button.type = "button";
    button.className = "button button-small composer-quote-selection";
    button.textContent = "Quote";
    button.hidden = true;
    document.body.appendChild(button);
    var chosen = null;
    function place() {
      chosen = selectedInPost();
      if (!chosen) { button.hidden = true; return; }
      var rect = chosen.range.getBoundingClientRect();
      button.hidden = false;
      button.style.top = (window.scrollY + rect.bottom + 6) + "px";
      button.style.left = (window.scrollX + Math.max(4, Math.min(rect.left, document.documentElement.clientWidth - 90))) + "px";
    }
    document.addEventListener("selectionchange", function () {
      clearTimeout(place.timer);
      place.timer = setTimeout(place, 120);
    });
    // Keep the selection while the button is pressed.
    button.addEventListener("mousedown", function (event) { event.preventDefault(); });
    button.addEventListener("click", function () {
      if (!chosen) return;
      quoteInto(chosen.article, chosen.text);
      button.hidden = true;
    });
    addQuoteActions(document);
  }

  // For keyboards: a "Quote" action beside "Reply" on each post, quoting the text selected in it
  // or, with nothing selected, the whole post.
  function addQuoteActions(root) {
    if (!replyBox() || !root.querySelectorAll) return;
    root.querySelectorAll(".post article[data-username]").forEach(function (article) {
      var actions = article.querySelector(".post-actions");
      var prose = article.querySelector(":scope > .prose");
      if (!actions || !prose || actions.querySelector(".composer-quote-post")) return;
      var button = document.createElement("button");
      button.type = "button";
      button.className = "link-button composer-quote-post";
      button.textContent = "Quote";
      var who = article.querySelector(".post-author");
      var hidden = document.createElement("span");
      hidden.className = "visually-hidden";
      hidden.textContent = " " + ((who && who.textContent.trim().split("\n")[0]) || "this post");
      button.appendChild(hidden);
      button.addEventListener("mousedown", function (event) { event.preventDefault(); });
      button.addEventListener("click", function () {
        var chosen = selectedInPost();
        quoteInto(article, chosen && chosen.article === article ? chosen.text : prose.innerText);
      });
      actions.appendChild(button);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    init(document);
    quoting();
  });
  document.addEventListener("htmx:load", function (event) {
    init(event.target);
    addQuoteActions(event.target.parentNode || document);
  });
})();
