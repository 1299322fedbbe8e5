/* 阅读辅助：记住字号和适老化模式（localStorage），打印按钮。页面不依赖本脚本即可阅读。
   Loaded in <head> (no inline script: pages work under a strict Content-Security-Policy), so the
   remembered choice applies before the page is drawn. */
(function () {
  "use strict";
  var root = document.documentElement;
  function get(key) {
    try { return window.localStorage.getItem(key); } catch (e) { return null; }
  }
  function put(key, value) {
    try { window.localStorage.setItem(key, value); } catch (e) { /* private mode, file:// policy: not remembered */ }
  }
  var size = get("a11y-size");
  if (size === "large" || size === "small") { root.setAttribute("data-a11y-size", size); }
  if (get("a11y-elder") === "1") { root.setAttribute("data-a11y-elder", "1"); }

  function wire() {
    var radios = document.querySelectorAll("input[name='a11y-size']");
    for (var i = 0; i < radios.length; i++) {
      var r = radios[i];
      r.checked = r.value === (root.getAttribute("data-a11y-size") || "medium");
      r.addEventListener("change", function (ev) {
        var v = ev.target.value;
        if (v === "medium") { root.removeAttribute("data-a11y-size"); } else { root.setAttribute("data-a11y-size", v); }
        put("a11y-size", v);
      });
    }
    var elder = document.getElementById("a11y-elder");
    if (elder) {
      elder.checked = root.getAttribute("data-a11y-elder") === "1";
      elder.addEventListener("change", function () {
        if (elder.checked) { root.setAttribute("data-a11y-elder", "1"); } else { root.removeAttribute("data-a11y-elder"); }
        put("a11y-elder", elder.checked ? "1" : "0");
      });
    }
    var print = document.getElementById("a11y-print");
    if (print && typeof window.print === "function") {
      print.hidden = false;
      print.addEventListener("click", function () { window.print(); });
    }
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", wire); } else { wire(); }
}());
