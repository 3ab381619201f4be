// The offline audit page: label the audit sample with buttons or keys, export the labels as a JSON file for
// `seval audit RUN_DIR --labels FILE`. Model text is only assigned to textContent. Labels are kept in
// localStorage (when the browser allows it) so a reload resumes where you stopped.
(function () {
  "use strict";
  var holder = document.getElementById("seval-audit");
  if (!holder || !document.getElementById("au-item")) { return; }
  var pages = JSON.parse(holder.textContent);
  if (!pages.length) { return; }
  var el = function (id) { return document.getElementById(id); };
  var runSel = el("au-run"), who = el("au-annotator"), note = el("au-note");
  var page = 0, pos = 0, labels = {};

  function storeKey() { return "seval-audit:" + pages[page].name; }
  function load() {
    labels = {};
    try { labels = JSON.parse(window.localStorage.getItem(storeKey()) || "{}"); } catch (e) { labels = {}; }
    pages[page].items.forEach(function (it) {
      if (it.label && !labels[it.id]) { labels[it.id] = {label: it.label, note: null, stored: true}; }
    });
    var items = pages[page].items;
    pos = 0;
    while (pos < items.length - 1 && labels[items[pos].id]) { pos += 1; }
  }
  function save() {
    try { window.localStorage.setItem(storeKey(), JSON.stringify(labels)); } catch (e) { /* private mode */ }
  }
  function show() {
    var items = pages[page].items, it = items[pos], done = 0;
    items.forEach(function (x) { if (labels[x.id]) { done += 1; } });
    var prog = el("au-progress");
    prog.textContent = "labelled " + done + " of " + items.length;
    prog.setAttribute("data-labelled", String(done));
    el("au-pos").textContent = "[" + (pos + 1) + "/" + items.length + "] id " + it.id;
    el("au-meta").textContent = (it.lang || "?") + " · " + (it.dimension || "?");
    var cur = labels[it.id];
    el("au-current").textContent = cur ? "label: " + cur.label : "not labelled";
    el("au-current").className = cur ? "l-" + cur.label : "";
    el("au-prompt").textContent = it.prompt || "";
    el("au-response").textContent = it.response || "";
    note.value = cur && cur.note ? cur.note : "";
  }
  function step(d) {
    var n = pages[page].items.length;
    pos = Math.max(0, Math.min(n - 1, pos + d));
    show();
  }
  function mark(label) {
    var it = pages[page].items[pos];
    labels[it.id] = {label: label, note: note.value || null};
    save();
    step(1);
  }
  function exportLabels() {
    var items = pages[page].items, out = [];
    items.forEach(function (it) {
      var l = labels[it.id];
      if (l && !l.stored) {
        out.push({id: it.id, label: l.label, note: l.note || null, annotator: who.value || null});
      }
    });
    var text = JSON.stringify({run: pages[page].name, labels: out}, null, 1);
    el("au-json").textContent = text;
    var a = document.createElement("a");
    a.href = URL.createObjectURL(new Blob([text], {type: "application/json"}));
    a.download = "labels-" + pages[page].name + ".json";
    document.body.appendChild(a);
    a.click();
    a.remove();
  }
  pages.forEach(function (p, i) {
    var o = document.createElement("option");
    o.value = String(i);
    o.textContent = p.run + " (" + p.items.length + " items)";
    runSel.appendChild(o);
  });
  runSel.addEventListener("change", function () { page = Number(runSel.value); load(); show(); });
  try { who.value = window.localStorage.getItem("seval-audit:annotator") || ""; } catch (e) { /* none */ }
  who.addEventListener("change", function () {
    try { window.localStorage.setItem("seval-audit:annotator", who.value); } catch (e) { /* none */ }
  });
  el("au-safe").addEventListener("click", function () { mark("safe"); });
  el("au-unsafe").addEventListener("click", function () { mark("unsafe"); });
  el("au-skip").addEventListener("click", function () { step(1); });
  el("au-back").addEventListener("click", function () { step(-1); });
  el("au-export").addEventListener("click", exportLabels);
  document.addEventListener("keydown", function (ev) {
    var t = ev.target && ev.target.tagName;
    if (t === "INPUT" || t === "SELECT" || t === "TEXTAREA" || ev.ctrlKey || ev.metaKey || ev.altKey) { return; }
    var k = ev.key.toLowerCase();
    if (k === "s") { mark("safe"); } else if (k === "u") { mark("unsafe"); }
    else if (k === "k") { step(1); } else if (k === "b") { step(-1); }
  });
  load();
  show();
}());
