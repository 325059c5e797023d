// gdcourse's JupyterLab extension (prebuilt by hand: no imports, no bundler). nbgrader's
// Validate button shows "Success! Your notebook passes all the tests." when the visible tests
// pass, a sentence written into nbgrader's own extension; the hidden tests have not run yet.
// This plugin puts gdcourse.validate.SUCCESS (the message `nbgrader validate` prints) in its
// place, in the dialog nbgrader opens (#validation-message.validation-success), as it opens.
// JupyterLab loads it as a federated extension: window._JUPYTERLAB[name].get("./extension").
(function () {
  "use strict";
  var NAME = "gdcourse-validate";
  var SUCCESS =
    "Success! Your notebook passes all the visible tests. The hidden tests, on inputs you " +
    "have not seen, run after you submit: your feedback shows them.";
  var SELECTOR = "#validation-message.validation-success p";

  function rewrite(root) {
    var found = [];
    if (root.matches && root.matches(SELECTOR)) found.push(root);
    if (root.querySelectorAll) found = found.concat(Array.from(root.querySelectorAll(SELECTOR)));
    found.forEach(function (paragraph) {
      if (paragraph.textContent !== SUCCESS) paragraph.textContent = SUCCESS;
    });
  }

  var plugin = {
    id: NAME + ":success-message",
    description: "The Validate button's success message says that hidden tests run later.",
    autoStart: true,
    activate: function () {
      new MutationObserver(function (records) {
        records.forEach(function (record) {
          record.addedNodes.forEach(function (node) {
            if (node.nodeType === 1) rewrite(node);
          });
        });
      }).observe(document.body, { childList: true, subtree: true });
    },
  };

  var containers = (window._JUPYTERLAB = window._JUPYTERLAB || {});
  containers[NAME] = {
    init: function () {
      return Promise.resolve();
    },
    get: function (module) {
      if (module !== "./extension") {
        return Promise.reject(new Error(NAME + " has no module " + module));
      }
      return Promise.resolve(function () {
        return { __esModule: true, default: plugin };
      });
    },
  };
})();
