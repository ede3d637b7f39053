// copsite: pictures and PDFs into a markdown box. A textarea carrying
// data-attach-url takes files pasted into it, dropped on it, or picked after
// the composer's picture button ("copsite:attach-pick"). Each is uploaded to
// that address (attachments/views.py); a placeholder holds its place in the
// text until the answer's markdown replaces it, or the error is shown beside
// the box. Without this file the boxes are plain text boxes.
(function () {
  "use strict";

  var ACCEPT = "image/jpeg,image/png,image/gif,image/webp,application/pdf";

  function box(target) {
    return target && target.tagName === "TEXTAREA" && target.hasAttribute("data-attach-url") ? target : null;
  }

  function csrfToken(textarea) {
    var scope = textarea.form || document;
    var field = scope.querySelector("input[name=csrfmiddlewaretoken]") ||
      document.querySelector("input[name=csrfmiddlewaretoken]");
    if (field) return field.value;
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]*)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  // The error line under the box: one per box, replaced by the next error, cleared by a success.
  function errorLine(textarea, message) {
    var id = (textarea.id || textarea.name) + "-attach-error";
    var line = document.getElementById(id);
    if (!message) {
      if (line) line.remove();
      return;
    }
    if (!line) {
      line = document.createElement("p");
      line.id = id;
      line.className = "errorlist attach-error";
      line.setAttribute("role", "alert");
      textarea.insertAdjacentElement("afterend", line);
    }
    line.textContent = message;
  }

  function changed(textarea) {
    // Drafts (site.js) and the composer listen for typing; inserted text counts as typing.
    textarea.dispatchEvent(new Event("input", { bubbles: true }));
  }

  function insertAtCursor(textarea, text) {
    var start = textarea.selectionStart, end = textarea.selectionEnd;
    if (typeof start !== "number") { start = end = textarea.value.length; }
    textarea.value = textarea.value.slice(0, start) + text + textarea.value.slice(end);
    textarea.selectionStart = textarea.selectionEnd = start + text.length;
    changed(textarea);
  }

  function replacePlaceholder(textarea, placeholder, text) {
    // A failed upload takes the line break it brought with it.
    if (!text && textarea.value.indexOf(placeholder + "\n") !== -1) placeholder += "\n";
    var at = textarea.value.indexOf(placeholder);
    if (at === -1) {
      if (text) insertAtCursor(textarea, text); // the placeholder was edited away: still hand over the file
      return;
    }
    var cursor = textarea.selectionStart;
    textarea.value = textarea.value.slice(0, at) + text + textarea.value.slice(at + placeholder.length);
    if (typeof cursor === "number") {
      var shifted = cursor > at ? cursor + text.length - placeholder.length : cursor;
      textarea.selectionStart = textarea.selectionEnd = Math.max(at, shifted);
    }
    changed(textarea);
  }

  // Each file on a line of its own: a picture or link glued to the word before it reads badly.
  function onItsOwnLine(textarea, text) {
    var start = typeof textarea.selectionStart === "number" ? textarea.selectionStart : textarea.value.length;
    var before = textarea.value.slice(0, start);
    return (before && !/\n$/.test(before) ? "\n" : "") + text;
  }

  function upload(textarea, file) {
    var name = (file.name || "picture").replace(/[\[\]\n\r]/g, "");
    var placeholder = "![Uploading " + name + "…]()";
    insertAtCursor(textarea, onItsOwnLine(textarea, placeholder) + "\n");
    var body = new FormData();
    body.append("file", file, file.name || "picture.png");
    fetch(textarea.getAttribute("data-attach-url"), {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(textarea), Accept: "application/json" }
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (answer) {
        if (response.ok && answer.markdown) {
          replacePlaceholder(textarea, placeholder, answer.markdown);
          errorLine(textarea, "");
          return;
        }
        replacePlaceholder(textarea, placeholder, "");
        errorLine(textarea, answer.error || ("“" + name + "” could not be uploaded (error " + response.status + ")."));
      });
    }).catch(function () {
      replacePlaceholder(textarea, placeholder, "");
      errorLine(textarea, "“" + name + "” could not be uploaded: the connection failed. Try again.");
    });
  }

  function uploadAll(textarea, files) {
    Array.prototype.forEach.call(files, function (file) { upload(textarea, file); });
  }

  function hasFiles(transfer) {
    return transfer && Array.prototype.indexOf.call(transfer.types || [], "Files") !== -1;
  }

  document.addEventListener("paste", function (event) {
    var textarea = box(event.target);
    var data = event.clipboardData;
    if (!textarea || !data || !data.files || !data.files.length) return;
    var images = Array.prototype.filter.call(data.files, function (file) { return /^image\//.test(file.type); });
    if (!images.length) return;
    event.preventDefault();
    uploadAll(textarea, images);
  });

  document.addEventListener("dragover", function (event) {
    if (box(event.target) && hasFiles(event.dataTransfer)) {
      event.preventDefault();
      event.dataTransfer.dropEffect = "copy";
    }
  });

  document.addEventListener("drop", function (event) {
    var textarea = box(event.target);
    if (!textarea || !event.dataTransfer || !event.dataTransfer.files.length) return;
    event.preventDefault();
    textarea.focus();
    uploadAll(textarea, event.dataTransfer.files);
  });

  // The composer's picture button: a file picker made on first use, kept beside the box.
  document.addEventListener("copsite:attach-pick", function (event) {
    var textarea = box(event.target);
    if (!textarea) return;
    var picker = textarea.attachPicker;
    if (!picker) {
      picker = document.createElement("input");
      picker.type = "file";
      picker.accept = ACCEPT;
      picker.multiple = true;
      picker.hidden = true;
      picker.className = "attach-picker";
      picker.setAttribute("aria-hidden", "true");
      picker.tabIndex = -1;
      picker.addEventListener("change", function () {
        if (picker.files && picker.files.length) uploadAll(textarea, picker.files);
        picker.value = "";
      });
      textarea.insertAdjacentElement("afterend", picker);
      textarea.attachPicker = picker;
    }
    picker.click();
  });
})();
