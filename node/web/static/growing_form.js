/* Forms that grow with the case: the FIR form (node/web/templates/fir_new.html) and the
   investigation forms of the case page (node/web/templates/case.html: the arrest memo, the
   seizure mahazar, the case diary day, the final report). No library, no inline script (the
   Content-Security-Policy allows same-origin script files only). Every <form data-draft-key>
   of the page is one growing form; nothing here knows which.

   - Rows: a form's kinds of row are its <div class="rows" data-kind="K"> (id "K-rows"), each
     with a <template id="K-template"> holding one row (fields named K___N___field). The button
     .add-row[data-add=K] clones it with the next index (K_7_name ...) and moves the focus to
     the new row's first field; "Remove" takes a row out and numbers the rest again from 1, so
     that a problem the station names ("item 3: ...") is the row whose legend says 3. A kind
     stops at its container's data-most rows; kinds that share one limit name each other in
     data-shares, and data-reserved counts what the limit holds besides the rows (the FIR's
     complainant is a person too). The limits are the server's (node.records.limits).
   - Sections are <details>: one holding a field the browser refuses opens.
   - Draft: every change is kept in this browser's localStorage under the form's
     data-draft-key ("cctns-draft:<officer>:/fir/new", "cctns-draft:<officer>:<FIR>:seizure");
     nothing is sent anywhere. The form comes back with its draft, a note and a "Discard draft"
     button (the element named by the form's data-draft-note): a session that timed out loses
     nothing. A page with <div data-draft-done="KEY"> (the page the saved form lands on) drops
     that draft when it was submitted; a form the station refused (data-refused) keeps what
     was typed as its draft. A draft older than a day is dropped unread.
   - The FIR form is submitted by htmx (hx-boost, node/web/templates/fir_new.html): the case
     page comes back as the answer and is swapped into the document, which is much quicker than
     a new document (docs/web.md); htmx runs this file again for the page swapped in. A refused
     form (400, 403) is swapped in too, as the browser would show it.
   Without this script the forms still work: one row of each kind, or every row typed. */
(function () {
  "use strict";

  var DRAFT_DAYS_MS = 24 * 60 * 60 * 1000;
  var SAVE_AFTER_MS = 300;
  var MOST_ROWS = 1000; // rows a draft may bring back, whatever it says

  function readDraft(key) {
    try {
      var draft = JSON.parse(window.localStorage.getItem(key) || "null");
      if (!draft || typeof draft.values !== "object" || !draft.values) return null;
      if (!(Date.now() - Number(draft.saved) < DRAFT_DAYS_MS)) {
        window.localStorage.removeItem(key);
        return null;
      }
      return draft;
    } catch (e) {
      return null; // storage off or the entry unreadable: no draft
    }
  }

  function dropDraft(key) {
    try {
      window.localStorage.removeItem(key);
    } catch (e) {
      /* storage off: nothing kept */
    }
  }

  function escaped(text) {
    return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  }

  // The page a saved form landed on: the draft that was submitted is done with.
  document.querySelectorAll("[data-draft-done]").forEach(function (done) {
    var key = done.getAttribute("data-draft-done");
    var kept = readDraft(key);
    if (kept && kept.submitted) dropDraft(key);
  });

  function growing(form) {
    var key = form.getAttribute("data-draft-key");
    var boxes = {};
    form.querySelectorAll(".rows[data-kind]").forEach(function (box) {
      boxes[box.getAttribute("data-kind")] = box;
    });
    var kinds = Object.keys(boxes);
    var rowPrefix = kinds.length
      ? new RegExp("^(" + kinds.map(escaped).join("|") + ")_([0-9]+|__N__)_")
      : null;

    function rowsOf(kind) {
      return boxes[kind].querySelectorAll(":scope > .row");
    }

    function count(names) {
      var n = 0;
      names.forEach(function (kind) {
        if (boxes[kind]) n += rowsOf(kind).length;
      });
      return n;
    }

    // Whether one more row of `kind` fits within its limit.
    function roomFor(kind) {
      var box = boxes[kind];
      var most = Number(box.getAttribute("data-most")) || 100;
      var shares = (box.getAttribute("data-shares") || kind).split(" ");
      var reserved = Number(box.getAttribute("data-reserved")) || 0;
      return count(shares) + reserved < most;
    }

    function renumber(row, kind, index) {
      var prefix = kind + "_" + index + "_";
      row.setAttribute("data-row", String(index));
      var elements = [row].concat(Array.prototype.slice.call(row.querySelectorAll("*")));
      elements.forEach(function (el) {
        ["id", "name", "for", "aria-describedby"].forEach(function (attr) {
          var value = el.getAttribute(attr);
          if (value && rowPrefix.test(value)) el.setAttribute(attr, value.replace(rowPrefix, prefix));
        });
      });
      var number = row.querySelector(".row-number");
      if (number) number.textContent = String(index + 1);
    }

    function refresh() {
      form.querySelectorAll("[data-count]").forEach(function (badge) {
        badge.textContent = String(count(badge.getAttribute("data-count").split(" ")));
      });
      form.querySelectorAll(".add-row").forEach(function (button) {
        button.disabled = !roomFor(button.getAttribute("data-add"));
      });
    }

    function firstField(row) {
      return row.querySelector("input:not([type=hidden]), select, textarea");
    }

    function addRow(kind, index) {
      if (index === undefined) {
        index = 0;
        rowsOf(kind).forEach(function (r) {
          index = Math.max(index, Number(r.getAttribute("data-row")) + 1);
        });
      }
      var template = form.querySelector("#" + kind + "-template");
      var row = template.content.querySelector(".row").cloneNode(true);
      renumber(row, kind, index);
      row.querySelector(".remove-row").hidden = false;
      boxes[kind].appendChild(row);
      return row;
    }

    function removeRow(row) {
      var kind = row.parentNode.getAttribute("data-kind");
      var after = row.nextElementSibling;
      row.parentNode.removeChild(row);
      var rows = rowsOf(kind);
      rows.forEach(function (r, i) {
        renumber(r, kind, i);
      });
      if (!rows.length) after = addRow(kind, 0);
      refresh();
      save(false);
      var target = after ? firstField(after) : form.querySelector("[data-add=" + kind + "]");
      if (target) target.focus();
    }

    // -- the draft ----------------------------------------------------------------------------

    function fields() {
      return Array.prototype.filter.call(form.elements, function (el) {
        return el.name && el.name !== "csrf_token" && el.type !== "hidden" && el.type !== "submit";
      });
    }

    function save(submitted) {
      var values = {};
      fields().forEach(function (el) {
        if (el.type === "checkbox") {
          if (el.checked) values[el.name] = "on";
        } else if (el.value) {
          values[el.name] = el.value;
        }
      });
      try {
        window.localStorage.setItem(
          key,
          JSON.stringify({ saved: Date.now(), submitted: submitted, values: values })
        );
      } catch (e) {
        /* storage full or off: the form works without a draft */
      }
    }

    function restore(values) {
      Object.keys(values).forEach(function (name) {
        var match = rowPrefix && rowPrefix.exec(name);
        if (!match || match[2] === "__N__") return;
        var index = Number(match[2]);
        var present = boxes[match[1]].querySelector(':scope > .row[data-row="' + index + '"]');
        if (!present && index < MOST_ROWS) addRow(match[1], index);
      });
      fields().forEach(function (el) {
        var value = values[el.name];
        if (el.type === "checkbox") el.checked = value === "on";
        else if (value !== undefined) el.value = String(value);
      });
    }

    // -- wiring -------------------------------------------------------------------------------

    form.querySelectorAll(".add-row").forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function () {
        var kind = button.getAttribute("data-add");
        if (!roomFor(kind)) return;
        var row = addRow(kind);
        refresh();
        save(false);
        var first = firstField(row);
        if (first) first.focus();
      });
    });
    kinds.forEach(function (kind) {
      rowsOf(kind).forEach(function (row) {
        row.querySelector(".remove-row").hidden = false;
      });
    });
    form.addEventListener("click", function (event) {
      var button = event.target.closest(".remove-row");
      if (button && form.contains(button)) removeRow(button.closest(".row"));
    });
    // A field the browser refuses (required, too long) inside a folded section: open it.
    form.addEventListener(
      "invalid",
      function (event) {
        var section = event.target.closest("details");
        if (section) section.open = true;
      },
      true
    );
    // Kept a moment after the typing stops, and at once when the page goes away.
    var pending = 0;
    function saveSoon() {
      window.clearTimeout(pending);
      pending = window.setTimeout(function () {
        pending = 0;
        save(false);
      }, SAVE_AFTER_MS);
    }
    form.addEventListener("input", saveSoon);
    form.addEventListener("change", saveSoon);
    window.addEventListener("pagehide", function () {
      if (pending) save(false);
    });
    form.addEventListener("submit", function () {
      window.clearTimeout(pending);
      pending = 0;
      save(true);
    });

    var note = document.getElementById(form.getAttribute("data-draft-note") || "");
    var draft = readDraft(key);
    if (form.getAttribute("data-refused")) {
      save(false); // the station refused: what the officer typed is the draft now
    } else if (draft) {
      restore(draft.values);
      save(false);
      if (note) note.hidden = false;
      form.querySelectorAll("details").forEach(function (section) {
        section.open = true; // what the draft brought back is in view
      });
    }
    if (note) {
      note.querySelector(".draft-discard").addEventListener("click", function () {
        dropDraft(key);
        window.location.replace(window.location.pathname);
      });
    }
    refresh();
  }

  document.querySelectorAll("form[data-draft-key]").forEach(growing);

  // A form submitted by htmx (hx-boost: the FIR form) whose answer is the form again with the
  // station's problems (400) or a refusal (403): shown, as a browser shows such a page, rather
  // than htmx's default of showing nothing for an error status. Registered once per document
  // (this file runs again when htmx swaps in a page that loads it).
  if (!window.cctnsGrowingSwapHandler) {
    window.cctnsGrowingSwapHandler = true;
    document.addEventListener("htmx:beforeSwap", function (event) {
      var status = event.detail.xhr ? event.detail.xhr.status : 0;
      if (event.detail.boosted && status >= 400 && status < 500) {
        event.detail.shouldSwap = true;
        event.detail.isError = false;
      }
    });
  }
})();
