// Progressive enhancement: a copy button for the share link. Without JavaScript the link
// stays visible in a read-only field to copy by hand.
(function () {
  var button = document.getElementById("copy-link");
  var field = document.getElementById("share-url");
  if (!button || !field || !navigator.clipboard) return;
  button.hidden = false;
  button.addEventListener("click", function () {
    navigator.clipboard.writeText(field.value).then(function () {
      button.textContent = button.getAttribute("data-copied");
    });
  });
})();
