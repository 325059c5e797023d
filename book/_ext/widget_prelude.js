// Runs before the ipywidgets HTML manager on every page with widgets (book/_ext/offline.py
// inserts it, with the page's paths to the site's html-manager and vendor folders filled in).
require.config({paths: {
  "@jupyter-widgets/html-manager/dist": "@FOLDER@",
  "@jupyter-widgets": "@FOLDER@",
  "anywidget": "@VENDOR@/anywidget/index"
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
});
