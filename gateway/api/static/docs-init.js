"use strict";
// Starts Swagger UI on /openapi.json. A file of its own: the page's CSP runs no inline script.
(function () {
  // ?docExpansion=full opens every operation (make docs-check reads the page that way).
  const asked = new URLSearchParams(window.location.search).get("docExpansion");
  const expansion = ["list", "full", "none"].includes(asked) ? asked : "list";
  fetch("openapi.json", { headers: { Accept: "application/json" } })
    .then(function (reply) { return reply.json(); })
    .then(function (spec) {
      // The bundled Swagger UI (4.x) renders OpenAPI 3.0 and refuses a 3.1 version string;
      // the parts of 3.1 this document uses render the same, so only the label is changed.
      spec.openapi = "3.0.3";
      window.ui = SwaggerUIBundle({
        spec: spec,
        dom_id: "#swagger-ui",
        deepLinking: true,
        docExpansion: expansion,
        defaultModelsExpandDepth: 0,
        displayRequestDuration: true,
        persistAuthorization: false,
        validatorUrl: null,
        presets: [SwaggerUIBundle.presets.apis],
        layout: "BaseLayout",
      });
    })
    .catch(function (err) {
      document.getElementById("swagger-ui").textContent = "Could not load openapi.json: " + err;
    });
})();
