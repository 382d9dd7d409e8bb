// hookrelay portal: tells a parent window the page's height, in the message
// svix-react's <AppPortal fullSize> listens for, so the iframe fits its
// content. Does nothing when the page is not framed.
(function () {
  if (window.parent === window) return;
  var last = 0;
  function post() {
    var h = Math.ceil(document.documentElement.offsetHeight);
    if (h === last) return;
    last = h;
    window.parent.postMessage({ type: "svix.iframe-resizer-height", payload: { height: h } }, "*");
  }
  window.addEventListener("load", post);
  if (window.ResizeObserver) new ResizeObserver(post).observe(document.body);
  post();
})();

// Copy buttons: <button data-copy="ID" hidden> copies the value of the
// input with that id. Without JavaScript the button stays hidden and the
// input can be selected and copied by hand.
(function () {
  var buttons = document.querySelectorAll("button[data-copy]");
  Array.prototype.forEach.call(buttons, function (b) {
    var input = document.getElementById(b.getAttribute("data-copy"));
    var status = document.querySelector('[data-copy-status="' + b.getAttribute("data-copy") + '"]');
    if (!input) return;
    b.hidden = false;
    b.addEventListener("click", function () {
      function done(ok) { if (status) status.textContent = ok ? "Copied." : "Select the secret and copy it."; }
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(input.value).then(function () { done(true); }, function () { input.select(); done(false); });
      } else {
        input.select();
        done(document.execCommand && document.execCommand("copy"));
      }
    });
  });
})();
