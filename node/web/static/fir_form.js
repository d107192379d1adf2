/* The FIR form that grows with the case (node/web/templates/fir_new.html): no library, no
   inline script (the Content-Security-Policy allows same-origin script files only).

   - Rows: "Add accused", "Add victim", "Add witness" and "Add item" clone the kind's <template>
     with the next index (accused_7_name ...) and move the focus to the new row's first field;
     "Remove" takes a row out and numbers the rest again from 1, so that a problem the station
     names ("accused 3: ...") is the row whose legend says 3. Persons (the complainant too) and
     property items stop at the form's limits (node.records.limits: Fir.persons, Fir.property).
   - Sections are <details>: the first open; one holding a field the browser refuses opens.
   - Draft: every change is kept in this browser's localStorage under the officer's id and the
     page ("cctns-draft:<officer>:/fir/new"); nothing is sent anywhere. A new form restores it
     with a note and a "Discard draft" button (a session that timed out loses nothing). The case
     page the registration lands on removes it (the element #fir-draft-registered); a form the
     station refused keeps it. A draft older than a day is dropped unread.
   Without this script the form still works: one row of each kind, or every row typed. */
(function () {
  "use strict";

  var DRAFT_DAYS_MS = 24 * 60 * 60 * 1000;
  var SAVE_AFTER_MS = 300;
  var KINDS = ["accused", "victim", "witness", "property"];
  var PERSONS = ["accused", "victim", "witness"];
  var ROW_PREFIX = /^(accused|victim|witness|property)_([0-9]+|__N__)_/;

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

  // The case page after a registration: the draft that was submitted is done with.
  var registered = document.getElementById("fir-draft-registered");
  if (registered) {
    var done = registered.getAttribute("data-draft-key");
    var kept = readDraft(done);
    if (kept && kept.submitted) dropDraft(done);
  }

  var form = document.getElementById("fir-form");
  if (!form) return;
  var key = form.getAttribute("data-draft-key");

  function container(kind) {
    return document.getElementById(kind + "-rows");
  }

  function rowsOf(kind) {
    return container(kind).querySelectorAll(":scope > .row");
  }

  function count(kinds) {
    var n = 0;
    kinds.forEach(function (kind) {
      n += rowsOf(kind).length;
    });
    return n;
  }

  // Whether one more row of `kind` fits in the FIR (the complainant counts as a person).
  function roomFor(kind) {
    var most = Number(container(kind).getAttribute("data-most")) || 100;
    if (kind === "property") return count(["property"]) < most;
    return count(PERSONS) + 1 < most;
  }

  function renumber(row, kind, index) {
    var prefix = kind + "_" + index + "_";
    row.setAttribute("data-row", String(index));
    var elements = [row].concat(Array.prototype.slice.call(row.querySelectorAll("*")));
    elements.forEach(function (el) {
      ["id", "name", "for", "aria-describedby"].forEach(function (attr) {
        var value = el.getAttribute(attr);
        if (value && ROW_PREFIX.test(value)) el.setAttribute(attr, value.replace(ROW_PREFIX, prefix));
      });
    });
    var number = row.querySelector(".row-number");
    if (number) number.textContent = String(index + 1);
  }

  function refresh() {
    document.querySelectorAll("[data-count]").forEach(function (badge) {
      badge.textContent = String(count(badge.getAttribute("data-count").split(" ")));
    });
    document.querySelectorAll(".add-row").forEach(function (button) {
      button.disabled = !roomFor(button.getAttribute("data-add"));
    });
  }

  function firstField(row) {
    return row.querySelector("input:not([type=hidden]), select, textarea");
  }

  function addRow(kind, index) {
    var rows = rowsOf(kind);
    if (index === undefined) {
      index = 0;
      rows.forEach(function (r) {
        index = Math.max(index, Number(r.getAttribute("data-row")) + 1);
      });
    }
    var template = document.getElementById(kind + "-template");
    var row = template.content.querySelector(".row").cloneNode(true);
    renumber(row, kind, index);
    row.querySelector(".remove-row").hidden = false;
    container(kind).appendChild(row);
    return row;
  }

  function removeRow(row) {
    var box = row.parentNode;
    var kind = box.getAttribute("data-kind");
    var after = row.nextElementSibling;
    box.removeChild(row);
    var rows = rowsOf(kind);
    rows.forEach(function (r, i) {
      renumber(r, kind, i);
    });
    if (!rows.length) after = addRow(kind, 0);
    refresh();
    save(false);
    var target = after ? firstField(after) : document.querySelector("[data-add=" + kind + "]");
    if (target) target.focus();
  }

  // -- the draft ------------------------------------------------------------------------------

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
      var match = ROW_PREFIX.exec(name);
      if (!match || match[2] === "__N__") return;
      var index = Number(match[2]);
      var present = container(match[1]).querySelector(':scope > .row[data-row="' + index + '"]');
      if (!present && index < 1000) addRow(match[1], index);
    });
    fields().forEach(function (el) {
      var value = values[el.name];
      if (el.type === "checkbox") el.checked = value === "on";
      else if (value !== undefined) el.value = String(value);
    });
  }

  // -- wiring ---------------------------------------------------------------------------------

  document.querySelectorAll(".add-row").forEach(function (button) {
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
  KINDS.forEach(function (kind) {
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

  var note = document.getElementById("draft-note");
  var discard = document.getElementById("draft-discard");
  var draft = readDraft(key);
  if (form.getAttribute("data-refused")) {
    save(false); // the station refused: what the officer typed is the draft now
  } else if (draft) {
    restore(draft.values);
    save(false);
    note.hidden = false;
  }
  discard.addEventListener("click", function () {
    dropDraft(key);
    window.location.replace(window.location.pathname);
  });
  refresh();
})();
