// The sales-floor board's script (served as /board/app.js): every data-refresh ms it
// fetches the live part (data-live) and swaps it in whole when it changed, so an import
// shows within seconds without a reload or a flicker; every data-rotate ms the side
// panel turns to the next of its panels. A failed fetch keeps the last figures and says
// so in a corner until the next one succeeds.
(function () {
  "use strict";
  var body = document.body;
  var live = document.getElementById("live");
  var url = body.getAttribute("data-live");
  var every = Number(body.getAttribute("data-refresh")) || 3000;
  var rotate = Number(body.getAttribute("data-rotate")) || 12000;
  var last = null;
  var panel = 0;
  function show() {
    var ps = live.querySelectorAll(".panel");
    if (!ps.length) return;
    panel = panel % ps.length;
    for (var i = 0; i < ps.length; i++) ps[i].classList.toggle("shown", i === panel);
  }
  function poll() {
    fetch(url, { cache: "no-store" })
      .then(function (r) {
        if (!r.ok) throw new Error("HTTP " + r.status);
        return r.text();
      })
      .then(function (html) {
        body.classList.remove("stale");
        if (html !== last) {
          live.innerHTML = html;
          last = html;
          show();
        }
      })
      .catch(function () {
        body.classList.add("stale");
      })
      .then(function () {
        setTimeout(poll, every);
      });
  }
  show();
  setInterval(function () {
    panel++;
    show();
  }, rotate);
  poll();
})();
