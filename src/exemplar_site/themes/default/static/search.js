/* Site search for exemplar-site: plain JavaScript, no framework, no eval, no request outside the site.
 *
 * The index (written by exemplar_site/search.py) is a set of .js files that call
 * window.__exemplarSearch(name, data); they are loaded with <script> on demand, so search works
 * over http and from a site opened on disk (file://). Tokens are the build's: overlapping
 * bigrams of Han characters, single characters for one-character queries, lowercased words.
 */
(function () {
  "use strict";

  var CALLBACK = "__exemplarSearch";
  var FORMAT = 1;
  var ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  var HAN = "\\u3400-\\u4dbf\\u4e00-\\u9fff\\uf900-\\ufaff\\u{20000}-\\u{3134f}";
  var TERM_RE = new RegExp("[" + HAN + "]+|(?:(?![" + HAN + "])[\\p{L}\\p{N}])+", "gu");
  var HAN_RE = new RegExp("^[" + HAN + "]+$", "u");
  var TITLE = 1, META = 2, BODY = 4, NAME = 8, MAX_TF = 3;
  var PAGE_SIZE = 10;
  var KIND_NAMES = { story: "先进典型", campaign: "学习活动", page: "页面" };

  var script = document.currentScript;
  var base = script.getAttribute("data-index").replace(/meta\.js$/, "");
  var root = script.getAttribute("data-root").replace(/index\.html$/, "");

  // ---- loading index files ----------------------------------------------------------------
  var loaded = {};
  var pending = {};
  var resolvers = {};

  window[CALLBACK] = function (name, data) {
    loaded[name] = data;
    if (resolvers[name]) {  // at once, as the file runs (its load event is one task later)
      resolvers[name](data);
      delete resolvers[name];
    }
  };

  function load(name) {
    if (Object.prototype.hasOwnProperty.call(loaded, name)) {
      return Promise.resolve(loaded[name]);
    }
    if (!pending[name]) {
      pending[name] = new Promise(function (resolve) {
        resolvers[name] = resolve;
        var s = document.createElement("script");
        s.src = base + name + ".js";
        s.async = true;
        s.onload = function () {
          delete pending[name];
          delete resolvers[name];
          s.remove();
          resolve(Object.prototype.hasOwnProperty.call(loaded, name) ? loaded[name] : null);
        };
        s.onerror = function () {
          delete pending[name];
          delete resolvers[name];
          s.remove();
          resolve(null);
        };
        document.head.appendChild(s);
      });
    }
    return pending[name];
  }

  // ---- tokens (the same rules as search.py) -------------------------------------------------
  function normalise(text) {
    return text.normalize("NFKC").toLowerCase();
  }

  function queryTerms(query) {
    var out = [];
    (normalise(query).match(TERM_RE) || []).forEach(function (t) {
      if (out.indexOf(t) < 0) out.push(t);
    });
    return out;
  }

  function termTokens(term) {
    if (!HAN_RE.test(term)) return [term];
    var chars = Array.from(term);
    if (chars.length === 1) return chars;
    var out = [];
    for (var i = 0; i + 1 < chars.length; i++) {
      var t = chars[i] + chars[i + 1];
      if (out.indexOf(t) < 0) out.push(t);
    }
    return out;
  }

  function shardOf(token, shards) {
    var h = 0x811c9dc5;
    for (var ch of token) {
      h = Math.imul(h ^ ch.codePointAt(0), 0x01000193) >>> 0;
    }
    return h % shards;
  }

  var DIGITS = new Int8Array(128).fill(-1);
  for (var a = 0; a < ALPHABET.length; a++) DIGITS[ALPHABET.charCodeAt(a)] = a;

  function digit(ch) {
    return DIGITS[ch.charCodeAt(0)];
  }

  /** A token's postings: its document numbers, ascending, and their weights (typed arrays). */
  var decoded = {};
  function postings(shard, token) {
    var key = shard + "\u0000" + token;
    if (decoded[key]) return decoded[key];
    var entry = loaded[shard] && Object.prototype.hasOwnProperty.call(loaded[shard], token)
      ? loaded[shard][token] : null;
    var numbers = entry ? entry[0] : "", weights = entry ? entry[1] : "";
    var docs = new Int32Array(weights.length), w = new Uint8Array(weights.length);
    var value = 0, last = -1, k = 0;
    for (var i = 0; i < numbers.length; i++) {
      var d = DIGITS[numbers.charCodeAt(i)];
      if (d >= 32) { value = value * 32 + d - 32; continue; }
      value = value * 32 + d;
      last = last < 0 ? value : last + value + 1;
      docs[k] = last;
      w[k] = DIGITS[weights.charCodeAt(k)];
      k++;
      value = 0;
    }
    decoded[key] = { docs: docs, w: w };
    return decoded[key];
  }

  /** The documents holding every token of a term, with the places all of them share (mask) and
   * the least count in the body (tf): merging the sorted lists, no map. */
  function termMatches(lists) {
    var docs = lists[0].docs, mask = new Uint8Array(docs.length), tf = new Uint8Array(docs.length);
    for (var i = 0; i < docs.length; i++) { mask[i] = lists[0].w[i] & 15; tf[i] = lists[0].w[i] >> 4; }
    for (var t = 1; t < lists.length; t++) {
      var other = lists[t], n = 0, j = 0;
      var nd = new Int32Array(Math.min(docs.length, other.docs.length));
      var nm = new Uint8Array(nd.length), nt = new Uint8Array(nd.length);
      for (i = 0; i < docs.length && j < other.docs.length; i++) {
        while (j < other.docs.length && other.docs[j] < docs[i]) j++;
        if (j < other.docs.length && other.docs[j] === docs[i]) {
          var w = other.w[j];
          nd[n] = docs[i];
          nm[n] = mask[i] & w;
          nt[n] = Math.min(tf[i], w >> 4);
          n++;
        }
      }
      docs = nd.subarray(0, n); mask = nm.subarray(0, n); tf = nt.subarray(0, n);
    }
    var scores = new Float64Array(docs.length);
    for (i = 0; i < docs.length; i++) scores[i] = scoreOf(mask[i], tf[i]);
    return { docs: docs, scores: scores };
  }

  function scoreOf(mask, tf) {
    var score = 0;
    if (mask & NAME) score += 10;
    if (mask & TITLE) score += 8;
    if (mask & META) score += 4;
    if (mask & BODY) score += 1 + Math.log2(1 + tf);
    return score || 0.5;
  }

  // ---- facets -------------------------------------------------------------------------------
  function facet(meta, n) {
    var c = meta.codes.substr(n * 6, 6);
    return {
      kind: digit(c[0]), field: digit(c[1]) - 1, unit: digit(c[2]) * 64 + digit(c[3]) - 1,
      level: digit(c[4]) - 1, year: digit(c[5]) ? meta.firstYear + digit(c[5]) - 1 : 0
    };
  }

  function indexOfKey(list, key) {
    for (var i = 0; i < list.length; i++) if (list[i][0] === key) return i;
    return -1;
  }

  function passes(meta, n, filters) {
    if (!filters.field && !filters.unit && !filters.level && !filters.year) return true;
    var f = facet(meta, n);
    if (filters.field && f.field !== indexOfKey(meta.fields, filters.field)) return false;
    if (filters.level && f.level !== indexOfKey(meta.levels, filters.level)) return false;
    if (filters.year && f.year !== Number(filters.year)) return false;
    if (filters.unit) {  // the unit or any unit under it
      var want = indexOfKey(meta.units, filters.unit), u = f.unit, guard = 0;
      while (u >= 0 && u !== want && guard++ < 64) u = meta.units[u][3];
      if (u !== want || want < 0) return false;
    }
    return true;
  }

  // ---- the query ----------------------------------------------------------------------------
  /** Every matching document number, best first (ties: the newer first), and the terms. */
  function search(query, filters) {
    var terms = queryTerms(query);
    if (!terms.length) return Promise.resolve({ terms: terms, docs: [] });
    return load("meta").then(function (meta) {
      if (!meta || meta.format !== FORMAT) throw new Error("index");
      var tokensOf = terms.map(termTokens);
      var names = {};
      tokensOf.forEach(function (tokens) {
        tokens.forEach(function (t) {
          var n = shardOf(t, meta.shards);
          if (parseInt(meta.have.substr((n >> 3) * 2, 2), 16) & (1 << (n & 7))) names[t] = "i/" + n.toString(16);
        });
      });
      var wanted = Object.keys(names).map(function (t) { return names[t]; });
      var none = { docs: new Int32Array(0), w: new Uint8Array(0) };
      return Promise.all(wanted.map(load)).then(function () {
        var all = null;  // documents holding every term (ascending), and their scores summed
        tokensOf.forEach(function (tokens) {
          var m = termMatches(tokens.map(function (t) { return names[t] ? postings(names[t], t) : none; }));
          if (all === null) { all = m; return; }
          var n = 0, j = 0, docs = new Int32Array(Math.min(all.docs.length, m.docs.length));
          var scores = new Float64Array(docs.length);
          for (var i = 0; i < all.docs.length && j < m.docs.length; i++) {
            while (j < m.docs.length && m.docs[j] < all.docs[i]) j++;
            if (j < m.docs.length && m.docs[j] === all.docs[i]) {
              docs[n] = all.docs[i]; scores[n] = all.scores[i] + m.scores[j]; n++;
            }
          }
          all = { docs: docs.subarray(0, n), scores: scores.subarray(0, n) };
        });
        var docs = [];
        for (var i = 0; i < all.docs.length; i++) {
          if (passes(meta, all.docs[i], filters)) docs.push([all.docs[i], all.scores[i]]);
        }
        docs.sort(function (a, b) { return b[1] - a[1] || b[0] - a[0]; });
        return { terms: terms, docs: docs };
      });
    });
  }

  // ---- showing results ----------------------------------------------------------------------
  function hanTerm(term) { return HAN_RE.test(term); }

  /** Where a term occurs in a text (Han terms as they are; words without case). */
  function occurrences(text, term) {
    var hay = hanTerm(term) ? text : text.toLowerCase();
    var out = [], i = hay.indexOf(term);
    while (i >= 0 && out.length < 200) { out.push([i, i + term.length]); i = hay.indexOf(term, i + term.length); }
    return out;
  }

  /** A document's text holds every term as it is (a phrase, not only its bigrams). */
  function exact(doc, terms) {
    var all = [doc.t, doc.n, doc.un, doc.l, doc.s, doc.b].join("\n");
    return terms.every(function (t) { return !hanTerm(t) || occurrences(all, t).length > 0; });
  }

  /** The shortest stretch of the body holding every term (phrase proximity), or null. */
  function bestWindow(text, terms) {
    var hits = [];
    terms.forEach(function (t, k) { occurrences(text, t).forEach(function (o) { hits.push([o[0], o[1], k]); }); });
    if (!hits.length) return null;
    hits.sort(function (a, b) { return a[0] - b[0]; });
    var best = null, count = {}, have = 0, lo = 0;
    for (var hi = 0; hi < hits.length; hi++) {
      if (!count[hits[hi][2]]) have++;
      count[hits[hi][2]] = (count[hits[hi][2]] || 0) + 1;
      while (have === terms.length) {
        var span = hits[hi][1] - hits[lo][0];
        if (!best || span < best[1] - best[0]) best = [hits[lo][0], hits[hi][1]];
        if (--count[hits[lo][2]] === 0) have--;
        lo++;
      }
    }
    return best || [hits[0][0], hits[0][1]];
  }

  function marked(parent, text, terms) {
    var spans = [];
    terms.forEach(function (t) { spans = spans.concat(occurrences(text, t)); });
    spans.sort(function (a, b) { return a[0] - b[0] || b[1] - a[1]; });
    var at = 0;
    spans.forEach(function (s) {
      if (s[0] < at) return;
      parent.appendChild(document.createTextNode(text.slice(at, s[0])));
      var m = document.createElement("mark");
      m.textContent = text.slice(s[0], s[1]);
      parent.appendChild(m);
      at = s[1];
    });
    parent.appendChild(document.createTextNode(text.slice(at)));
  }

  function snippet(doc, terms) {
    var text = doc.b || doc.s || "";
    var w = bestWindow(text, terms);
    if (!w) return { text: (doc.s || text).slice(0, 110), cut: (doc.s || text).length > 110, start: 0 };
    var start = Math.max(0, w[0] - 36);
    var end = Math.min(text.length, Math.max(w[1] + 36, start + 110));
    return { text: text.slice(start, end), start: start, cut: end < text.length };
  }

  var KINDS = ["story", "campaign", "page"];

  /** What a result shows before its snippet: from its card block (meta.cards documents a file),
   * or from its document file (a result alone in its block, whose document is smaller than the
   * block and fetched anyway; an index without cards; a block that did not load). */
  function cardOf(meta, n, alone) {
    if (!meta.cards || alone) return load("d/" + n);
    var block = Math.floor(n / meta.cards);
    return load("c/" + block.toString(16)).then(function (cards) {
      var c = cards && cards[n - block * meta.cards];
      if (!c) return load("d/" + n);
      return { u: c[0], k: KINDS[facet(meta, n).kind], t: c[1], n: c[2], un: c[3], d: c[4] };
    });
  }

  /** A result as listed: its title (a link), kind, name, unit and date; its snippet comes later. */
  function item(n, card, terms) {
    var li = document.createElement("li");
    li.className = "search-result";
    li.setAttribute("data-doc", String(n));
    var h = document.createElement("h2");
    h.className = "search-result-title";
    var a = document.createElement("a");
    a.href = root + card.u + "index.html";
    marked(a, card.t, terms);
    h.appendChild(a);
    li.appendChild(h);
    var meta = document.createElement("p");
    meta.className = "search-result-meta";
    var bits = [KIND_NAMES[card.k] || ""];
    if (card.n) bits.push(card.n);
    if (card.un && card.un !== card.n) bits.push(card.un);
    if (card.d) bits.push(card.d.replace(/^(\d+)-0?(\d+)-0?(\d+)$/, "$1年$2月$3日"));
    meta.textContent = bits.filter(Boolean).join(" · ");
    li.appendChild(meta);
    var p = document.createElement("p");
    p.className = "search-result-snippet is-pending";
    li.appendChild(p);
    return li;
  }

  /** A listed result's snippet, from its document, and the note when it lacks the whole phrase. */
  function fill(li, doc, terms, isExact) {
    var p = li.querySelector(".search-result-snippet");
    p.classList.remove("is-pending");
    var s = snippet(doc, terms);
    if (s.start > 0) p.appendChild(document.createTextNode("…"));
    marked(p, s.text, terms);
    if (s.cut) p.appendChild(document.createTextNode("…"));
    if (!isExact) {
      li.classList.add("is-loose");
      var note = document.createElement("p");
      note.className = "search-result-note";
      note.textContent = "不含完整的检索词，只含其中的字词";
      li.appendChild(note);
    }
  }

  // ---- the page -----------------------------------------------------------------------------
  var form = document.getElementById("search-form");
  var input = document.getElementById("search-q");
  var status = document.getElementById("search-status");
  var list = document.getElementById("search-results");
  var more = document.getElementById("search-more");
  var selects = {
    field: document.getElementById("search-field"), unit: document.getElementById("search-unit"),
    level: document.getElementById("search-level"), year: document.getElementById("search-year")
  };
  var current = null;  // {query, filters, docs, shown, terms}
  var serial = 0;

  function filters() {
    var f = {};
    Object.keys(selects).forEach(function (k) { f[k] = selects[k] ? selects[k].value : ""; });
    return f;
  }

  function option(select, value, label) {
    var o = document.createElement("option");
    o.value = value;
    o.textContent = label;
    select.appendChild(o);
  }

  function fillFilters(meta, wanted) {
    meta.fields.forEach(function (f) { option(selects.field, f[0], f[1]); });
    meta.units.forEach(function (u) { option(selects.unit, u[0], "\u3000".repeat(Math.min(u[2], 6)) + u[1]); });
    meta.levels.forEach(function (l) { option(selects.level, l[0], l[1]); });
    meta.years.forEach(function (y) { option(selects.year, String(y), y + "年"); });
    Object.keys(selects).forEach(function (k) { if (wanted[k]) selects[k].value = wanted[k]; });
  }

  function showUrl(query, f) {
    var params = new URLSearchParams();
    if (query) params.set("q", query);
    Object.keys(f).forEach(function (k) { if (f[k]) params.set(k, f[k]); });
    var search = params.toString();
    try {
      history.replaceState(null, "", search ? "?" + search : location.pathname);
    } catch (e) { /* a page opened from disk may refuse: the query then stays out of the address */ }
  }

  /** The next ten results: listed as soon as their cards arrive (the card files of blocks holding
   * two or more of them, or the document of a result alone in its block), each snippet filled
   * when its document arrives (the other documents are all requested once the list is shown: on
   * a slow server, requests made at the same time would delay the cards); once all have, the
   * ten are put in order (whole phrase first, then score and phrase proximity). The list's data-shown is the query once listed, data-query once complete.
   * Returns {shown, done}. */
  function showMore() {
    var c = current;
    var first = c.shown === 0;  // (the list of the last query stays until this one's cards are in)
    var batch = c.docs.slice(c.shown, c.shown + PAGE_SIZE);
    c.shown += batch.length;
    var meta = loaded.meta;
    var inBlock = {};
    batch.forEach(function (r) { var b = Math.floor(r[0] / meta.cards); inBlock[b] = (inBlock[b] || 0) + 1; });
    var cards = batch.map(function (r) { return cardOf(meta, r[0], inBlock[Math.floor(r[0] / meta.cards)] < 2); });
    var items = [];
    var shown = Promise.all(cards).then(function (found) {
      if (c !== current) return;
      if (first) list.textContent = "";
      batch.forEach(function (r, i) {
        if (!found[i]) return;
        items[i] = item(r[0], found[i], c.terms);
        list.appendChild(items[i]);
      });
      more.hidden = c.shown >= c.docs.length;
      if (batch.length) list.setAttribute("aria-busy", "true");
      list.setAttribute("data-shown", c.query);
    });
    var rows = batch.map(function (r, i) {
      return shown.then(function () { return c === current ? load("d/" + r[0]) : null; }).then(function (doc) {
        if (c !== current || !items[i]) return null;
        if (!doc) { items[i].querySelector(".search-result-snippet").classList.remove("is-pending"); return null; }
        var isExact = exact(doc, c.terms);
        fill(items[i], doc, c.terms, isExact);
        var w = bestWindow([doc.t, doc.n, doc.un, doc.l, doc.s, doc.b].join("\n"), c.terms);
        var near = w ? 1 / (1 + (w[1] - w[0]) / 20) : 0;  // phrase proximity, within the batch
        return { li: items[i], rank: (isExact ? 1000 : 0) + batch[i][1] + near, i: i };
      });
    });
    var done = Promise.all(rows).then(function (all) {
      if (c !== current) return;
      var placed = items.filter(Boolean);
      all = all.filter(Boolean).sort(function (a, b) { return b.rank - a.rank || a.i - b.i; });
      var order = all.map(function (row) { return row.li; });
      placed.forEach(function (li) { if (order.indexOf(li) < 0) order.push(li); });  // (no document: last)
      if (order.some(function (li, k) { return li !== placed[k]; })) {
        var focused = document.activeElement;
        var after = placed.length ? placed[placed.length - 1].nextSibling : null;
        while (after && order.indexOf(after) >= 0) after = after.nextSibling;
        order.forEach(function (li) { list.insertBefore(li, after); });
        if (focused && list.contains(focused) && document.activeElement !== focused) focused.focus();
      }
      list.removeAttribute("aria-busy");
      list.setAttribute("data-query", c.query);
      list.setAttribute("data-done", String(serial));
    });
    return { shown: shown, done: done };
  }

  function run() {
    var query = input.value.trim();
    var f = filters();
    var mine = ++serial;
    showUrl(query, f);
    if (!query) {
      current = null;
      list.textContent = "";
      status.textContent = "请输入姓名、单位、事迹或其中的词语。";
      more.hidden = true;
      list.removeAttribute("aria-busy");
      list.setAttribute("data-shown", "");
      list.setAttribute("data-query", "");
      list.setAttribute("data-done", String(mine));
      return Promise.resolve();
    }
    return search(query, f).then(function (found) {
      if (mine !== serial) return;
      current = { query: query, docs: found.docs, terms: found.terms, shown: 0 };
      status.textContent = found.docs.length
        ? "找到 " + found.docs.length + " 篇与“" + query + "”相关的内容。"
        : "没有找到与“" + query + "”相关的内容，请换个词语或减少筛选条件。";
      return showMore().done;
    }).catch(function () {
      if (mine !== serial) return;
      status.textContent = "搜索索引无法读取，请重新生成网站后再试。";
      list.textContent = "";
      list.setAttribute("data-query", query);
      list.setAttribute("data-error", "1");
    });
  }

  window.exemplarSearch = { search: search, run: run, queryTerms: queryTerms, termTokens: termTokens };
  if (!form || !input || !list) return;

  var params = new URLSearchParams(location.search);
  var wanted = {};
  Object.keys(selects).forEach(function (k) { wanted[k] = params.get(k) || ""; });
  input.value = params.get("q") || "";

  form.addEventListener("submit", function (e) { e.preventDefault(); run(); });
  input.addEventListener("input", run);
  Object.keys(selects).forEach(function (k) { if (selects[k]) selects[k].addEventListener("change", run); });
  more.addEventListener("click", function () {
    var first = list.children.length;
    showMore().shown.then(function () {
      var link = list.children[first] && list.children[first].querySelector("a");
      if (link) link.focus();
    });
  });
  input.addEventListener("keydown", function (e) {
    if (e.key === "ArrowDown") {
      var first = list.querySelector("a");
      if (first) { e.preventDefault(); first.focus(); }
    } else if (e.key === "Escape") {
      input.value = "";
      run();
    }
  });
  list.addEventListener("keydown", function (e) {
    if (e.key !== "ArrowDown" && e.key !== "ArrowUp") return;
    var links = Array.prototype.slice.call(list.querySelectorAll(".search-result-title a"));
    var at = links.indexOf(document.activeElement);
    if (at < 0) return;
    e.preventDefault();
    if (e.key === "ArrowDown" && at + 1 < links.length) links[at + 1].focus();
    else if (e.key === "ArrowUp") (at > 0 ? links[at - 1] : input).focus();
  });

  load("meta").then(function (meta) {
    if (meta && meta.format === FORMAT) fillFilters(meta, wanted);
    return run();
  });
})();
