// Swagger UI over this API's own OpenAPI document. "Authorize" takes the X-API-Key (ApiKey scheme), which
// "Try it out" then sends; the key lives in this page only (authorization is not persisted).
"use strict";
window.addEventListener("DOMContentLoaded", () => {
  window.ui = SwaggerUIBundle({
    url: "/v1/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    tryItOutEnabled: true,
    displayRequestDuration: true,
    defaultModelsExpandDepth: 0,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
});
