// Keeps a petition's count moving while people watch the page: every five seconds (while the
// page is in view) it asks for the count (`?fields=count`, a small JSON that proxies may keep
// for a second) and counts up to it. The page says the same without this script.
(function () {
  var box = document.querySelector(".progress[data-live]");
  if (!box || !window.fetch) return;
  var text = box.querySelector(".progress-text strong");
  var bar = box.querySelector("progress");
  var shown = Number(box.getAttribute("data-count"));
  var sep = box.getAttribute("data-sep");
  var still = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  function grouped(n) {
    var s = String(n), out = "";
    for (var i = 0; i < s.length; i++) {
      if (i > 0 && (s.length - i) % 3 === 0) out += sep;
      out += s.charAt(i);
    }
    return out;
  }
  function fill(template, count, goal) {
    return template.replace("{count}", grouped(count)).replace("{goal}", grouped(goal));
  }
  function show(count, goal) {
    text.textContent = fill(box.getAttribute("data-text"), count, goal);
    var percent = goal > 0 ? Math.min(100, Math.floor((count * 100) / goal)) : 100;
    bar.value = percent;
    bar.textContent = percent + "%";
    bar.setAttribute("aria-label", fill(box.getAttribute("data-label"), count, goal));
  }
  var timer;
  function poll() {
    if (document.visibilityState === "hidden") return;
    fetch(box.getAttribute("data-live"), { cache: "no-cache", headers: { Accept: "application/json" } })
      .then(function (res) { return res.ok ? res.json() : null; })
      .then(function (c) {
        if (!c) return;
        if (c.status !== "open") clearInterval(timer);
        if (typeof c.total_count !== "number" || c.total_count === shown) return;
        var from = shown, to = c.total_count, start = null;
        shown = to;
        function step(t) {
          if (start === null) start = t;
          var k = still ? 1 : Math.min(1, (t - start) / 800);
          show(Math.round(from + (to - from) * k), c.goal);
          if (k < 1) window.requestAnimationFrame(step);
        }
        window.requestAnimationFrame(step);
      })
      .catch(function () {});
  }
  timer = setInterval(poll, 5000);
})();
