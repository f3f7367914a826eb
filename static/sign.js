// After a form came back with errors the browser lands on #errors (the form's action ends with
// it), which focuses the summary: a phone shows what to fix and a screen reader reads it.
// Where a browser does not, this does it once the page has loaded.
(function () {
  var errors = document.getElementById("errors");
  if (!errors) return;
  window.addEventListener("load", function () {
    if (document.activeElement !== errors) errors.focus();
  });
})();
