// After a form came back with errors: the summary takes the focus (and so the screen), so a
// phone shows what to fix and a screen reader reads it. The page works the same without this.
(function () {
  var errors = document.getElementById("errors");
  if (!errors) return;
  errors.focus();
  errors.scrollIntoView({ block: "start" });
})();
