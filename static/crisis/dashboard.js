// Escalation dashboard: reload every data-refresh-seconds seconds, but never while someone
// is typing in a form on the page or has a "Resolve" box open. Without JavaScript the page's
// <noscript> meta refresh reloads it instead.
(function () {
  "use strict";
  var marker = document.querySelector("[data-refresh-seconds]");
  if (!marker) return;
  var seconds = parseInt(marker.getAttribute("data-refresh-seconds"), 10);
  if (!(seconds > 0)) return;
  setInterval(function () {
    var busy = document.activeElement && /INPUT|TEXTAREA|SELECT/.test(document.activeElement.tagName);
    var open = document.querySelector("details[open]");
    if (!busy && !open) { window.location.reload(); }
  }, seconds * 1000);
})();
