// Coverage board: polls the auto-fill status named by data-autofill-status-url and reloads
// the board when the run is over. Without JavaScript the page's <noscript> meta refresh
// reloads it every few seconds instead.
(function () {
  var box = document.querySelector("[data-autofill-status-url]");
  if (!box) return;
  var url = box.getAttribute("data-autofill-status-url");
  var bar = box.querySelector("progress");
  var stage = box.querySelector(".stage");
  var percent = box.querySelector(".percent");
  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (s) {
        bar.value = s.progress;
        percent.textContent = s.progress;
        stage.textContent = s.stage_label;
        if (s.live) { setTimeout(poll, 1500); } else { window.location.reload(); }
      })
      .catch(function () { setTimeout(poll, 5000); });
  }
  setTimeout(poll, 1000);
})();
