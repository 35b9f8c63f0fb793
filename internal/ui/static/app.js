// vigie dashboard: the only script. Pages work without it; it refreshes
// the overview every minute while it is visible, so a wall screen keeps
// up with new incidents. No data from the server is ever inserted as HTML.
"use strict";
(function () {
  if (document.body.dataset.page !== "overview") return;
  setInterval(function () {
    if (document.visibilityState === "visible") location.reload();
  }, 60000);
})();
