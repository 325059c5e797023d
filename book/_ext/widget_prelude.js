// Runs before the ipywidgets HTML manager on every page with widgets (book/_ext/offline.py
// inserts it, with @FOLDER@ replaced by the page's path to _static/vendor/html-manager).
require.config({paths: {
  "@jupyter-widgets/html-manager/dist": "@FOLDER@",
  "@jupyter-widgets": "@FOLDER@"
}});
document.addEventListener("DOMContentLoaded", function () {
  var mj = window.MathJax;
  if (mj && !mj.Hub) {
    mj.Hub = {Queue: function (job) {
      var element = Array.isArray(job) ? job[2] : undefined;
      if (mj.startup && mj.startup.promise && mj.typesetPromise) {
        mj.startup.promise
          .then(function () { return mj.typesetPromise(element ? [element] : undefined); })
          .catch(function (error) { console.warn("MathJax:", error); });
      }
    }};
  }
  var names = {
    "gd-demo-descent-1d": "gradient descent on a function of one variable: the curve with the steps, and the loss against the iteration",
    "gd-demo-descent-2d": "gradient descent on a function of two variables: the path on a contour plot",
    "gd-demo-fit-line": "fitting a line by hand: the data with the line and its residuals, and the point (w, b) on the loss contours",
    "gd-demo-batch-size": "loss curves of full-batch, mini-batch and single-sample gradient descent",
    "gd-demo-feature-scaling": "loss contours and descent paths with raw and with normalised inputs"
  };
  function describe(img) {
    if (img.hasAttribute("alt")) { return; }
    var text = img.getAttribute("title");
    if (!text) {
      var demo = img.closest("[class*='gd-demo-']");
      var key = demo && Array.prototype.find.call(demo.classList, function (c) { return c in names; });
      text = "Plot of the interactive demo: " + (key ? names[key] : "its initial state");
    }
    img.setAttribute("alt", text);
  }
  function describeAll() {
    document.querySelectorAll("img.widget-image, .jupyter-widgets img").forEach(describe);
  }
  new MutationObserver(describeAll).observe(document.body, {childList: true, subtree: true});
  describeAll();
});
