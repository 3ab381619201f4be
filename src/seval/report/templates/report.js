// Drill-down over the embedded examples. Model text is hostile data: it is only ever assigned to
// textContent, never parsed as HTML, and the page's Content-Security-Policy allows no other script.
(function () {
  "use strict";
  var PAGE = 20;
  var data = JSON.parse(document.getElementById("seval-examples").textContent);
  var col = {};
  data.columns.forEach(function (c, i) { col[c] = i; });
  var rows = data.rows;
  var BASE = "\u0000base";
  var keys = ["run", "dimension", "attack", "lang", "outcome"];
  var selects = {};
  var filtered = rows;
  var page = 0;

  function value(row, key) {
    var v = row[col[key]];
    if (key === "attack" && (v === null || v === "")) { return BASE; }
    return v === null || v === undefined ? "" : String(v);
  }
  function label(key, v) {
    if (key === "run") { return data.runs[Number(v)]; }
    if (key === "attack" && v === BASE) { return "(base prompt)"; }
    return v === "" ? "(none)" : v;
  }
  function option(sel, v, text) {
    var o = document.createElement("option");
    o.value = v;
    o.textContent = text;
    sel.appendChild(o);
  }
  keys.forEach(function (key) {
    var sel = document.getElementById("f-" + key);
    selects[key] = sel;
    var seen = {};
    rows.forEach(function (r) { seen[value(r, key)] = (seen[value(r, key)] || 0) + 1; });
    option(sel, "\u0000all", "all");
    Object.keys(seen).sort().forEach(function (v) { option(sel, v, label(key, v) + " (" + seen[v] + ")"); });
    sel.addEventListener("change", apply);
  });
  var text = document.getElementById("f-text");
  var timer = null;
  text.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(apply, 200); });

  function apply() {
    var want = {};
    keys.forEach(function (k) { if (selects[k].value !== "\u0000all") { want[k] = selects[k].value; } });
    var q = text.value.trim().toLowerCase();
    filtered = rows.filter(function (r) {
      for (var k in want) { if (value(r, k) !== want[k]) { return false; } }
      if (q) {
        var hay = ((r[col.prompt] || "") + "\n" + (r[col.response] || "")).toLowerCase();
        if (hay.indexOf(q) < 0) { return false; }
      }
      return true;
    });
    page = 0;
    render();
  }

  function el(tag, cls, txt) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (txt !== undefined && txt !== null) { e.textContent = String(txt); }
    return e;
  }

  function card(r) {
    var a = el("article");
    var hd = el("div", "hd");
    hd.appendChild(el("span", null, data.runs[r[col.run]]));
    hd.appendChild(el("span", null, "id " + r[col.id]));
    hd.appendChild(el("span", null, r[col.lang]));
    hd.appendChild(el("span", null, [r[col.dimension], r[col.category], r[col.risk]].filter(Boolean).join(" / ")));
    hd.appendChild(el("span", null, r[col.attack] ? "attack: " + r[col.attack] : "base prompt"));
    hd.appendChild(el("span", "v-" + r[col.outcome], r[col.outcome]));
    if (r[col.score] !== null) { hd.appendChild(el("span", null, "score " + r[col.score])); }
    a.appendChild(hd);
    a.appendChild(el("div", "lbl", "Prompt"));
    a.appendChild(el("pre", "prompt", r[col.prompt]));
    a.appendChild(el("div", "lbl", "Response"));
    a.appendChild(el("pre", "response", r[col.response] === null ? "(no response)" : r[col.response]));
    if (r[col.explanation]) {
      a.appendChild(el("div", "lbl", "Explanation"));
      a.appendChild(el("pre", "explanation", r[col.explanation]));
    }
    if (r[col.error]) {
      a.appendChild(el("div", "lbl", "Error"));
      a.appendChild(el("pre", "error", r[col.error]));
    }
    var turns = col.turns === undefined ? null : r[col.turns];
    if (turns && turns.length) {
      var d = el("details", "conversation");
      d.appendChild(el("summary", null, "Conversation, turn by turn (" + turns.length + " turns)"));
      turns.forEach(function (t) {
        d.appendChild(el("div", "lbl turn-" + t[0], t[0] + (t[2] ? " (" + t[2] + ")" : "")));
        d.appendChild(el("pre", "turn", t[1]));
      });
      a.appendChild(d);
    }
    return a;
  }

  function render() {
    var list = document.getElementById("ex-list");
    while (list.firstChild) { list.removeChild(list.firstChild); }
    var pages = Math.max(1, Math.ceil(filtered.length / PAGE));
    page = Math.min(Math.max(0, page), pages - 1);
    var frag = document.createDocumentFragment();
    filtered.slice(page * PAGE, page * PAGE + PAGE).forEach(function (r) { frag.appendChild(card(r)); });
    list.appendChild(frag);
    var count = document.getElementById("ex-count");
    count.textContent = filtered.length + " of " + rows.length + " examples";
    count.setAttribute("data-n", String(filtered.length));
    document.getElementById("ex-page").textContent = "page " + (page + 1) + " / " + pages;
    document.getElementById("ex-prev").disabled = page === 0;
    document.getElementById("ex-next").disabled = page >= pages - 1;
  }
  document.getElementById("ex-prev").addEventListener("click", function () { page -= 1; render(); });
  document.getElementById("ex-next").addEventListener("click", function () { page += 1; render(); });
  render();
})();
