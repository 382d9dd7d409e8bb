// hookrelay portal, the magic link's continue page: submit its form as soon
// as the page is read, so a person who opens the link lands in the portal
// without a click. Link previews and scanners that only fetch the page do
// not run this, so they leave the link's one-time code unused. Without
// JavaScript the page's button does the same.
(function () {
  "use strict";
  var form = document.querySelector("form[data-auto-submit]");
  if (!form || form.getAttribute("data-submitted")) return;
  form.setAttribute("data-submitted", "true");
  form.submit();
})();
