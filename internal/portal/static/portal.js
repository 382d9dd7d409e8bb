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
