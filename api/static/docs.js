// Renders /v1/openapi.json: operations, parameters, responses, and a small "try it" form. No dependencies.
"use strict";
(function () {
  const el = (tag, attrs, ...children) => {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return node;
  };

  function paramRow(p) {
    const input = el("input", { type: "text", "data-name": p.name, "data-in": p.in, placeholder: (p.schema && (p.schema.example || p.schema.format || p.schema.type)) || "" });
    const enumText = p.schema && p.schema.enum ? " (" + p.schema.enum.join(", ") + ")" : "";
    return el("tr", {}, el("td", {}, el("code", {}, p.name), p.required ? " *" : ""), el("td", {}, p.in), el("td", {}, (p.description || "") + enumText), el("td", {}, input));
  }

  async function send(path, method, section) {
    let url = path;
    const query = new URLSearchParams();
    for (const input of section.querySelectorAll("input[data-name]")) {
      if (!input.value) continue;
      if (input.dataset.in === "path") url = url.replace("{" + input.dataset.name + "}", encodeURIComponent(input.value));
      else if (input.dataset.in === "query") query.set(input.dataset.name, input.value);
    }
    const headers = {};
    const key = document.getElementById("api-key").value;
    if (key) headers["X-API-Key"] = key;
    const body = section.querySelector("textarea");
    const init = { method: method.toUpperCase(), headers, redirect: "manual" };
    if (body && body.value) { headers["Content-Type"] = "application/json"; init.body = body.value; }
    const out = section.querySelector("pre");
    try {
      const resp = await fetch(url + (query.toString() ? "?" + query : ""), init);
      const text = await resp.text();
      let shown = text;
      try { shown = JSON.stringify(JSON.parse(text), null, 2); } catch (e) { /* not JSON */ }
      out.textContent = resp.status + " " + resp.statusText + "\n\n" + shown;
    } catch (e) {
      out.textContent = String(e);
    }
  }

  function render(doc) {
    document.getElementById("title").textContent = doc.info.title + " " + doc.info.version;
    document.getElementById("description").textContent = doc.info.description || "";
    const main = document.getElementById("operations");
    main.textContent = "";
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(item)) {
        if (method.startsWith("x-")) continue;
        const section = el("section", { class: "op", id: op.operationId });
        const locked = op.security && op.security.length ? el("span", { class: "lock" }, " 🔒 " + (op["x-required-role"] || "")) : "";
        section.append(el("h3", {}, el("span", { class: "method " + method }, method), el("code", {}, path), locked));
        section.append(el("p", {}, op.summary || ""));
        if (op.parameters && op.parameters.length) section.append(el("table", {}, ...op.parameters.map(paramRow)));
        if (op.requestBody) section.append(el("textarea", { rows: "3", cols: "60", placeholder: '{"start_date": "2024-01-01", "end_date": "2024-01-31"}' }));
        const codes = Object.entries(op.responses).map(([code, r]) => code + " " + (r.description || "")).join(" · ");
        section.append(el("p", {}, el("small", {}, "Responses: " + codes)));
        const button = el("button", { type: "button" }, "Send");
        button.addEventListener("click", () => send(path, method, section));
        section.append(button, el("pre", {}, ""));
        main.append(section);
      }
    }
  }

  fetch("/v1/openapi.json").then((r) => r.json()).then(render).catch((e) => {
    document.getElementById("operations").textContent = "Could not load the OpenAPI document: " + e;
  });
})();
