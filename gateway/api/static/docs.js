
"use strict";
let apiKey = "";
const doc = {};
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return node;
}
function refName(ref) { return ref.split("/").pop(); }
function resolve(schema) {
  let s = schema || {};
  for (let i = 0; s.$ref && i < 20; i++) s = doc.components.schemas[refName(s.$ref)] || {};
  return s;
}
function typeLabel(schema) {
  if (!schema) return "";
  if (schema.$ref) return refName(schema.$ref);
  const choices = schema.anyOf || schema.oneOf;
  if (choices) return choices.map(typeLabel).join(" | ");
  if (schema.type === "array") return typeLabel(schema.items) + "[]";
  return schema.type || "any";
}
function example(schema, depth) {
  const s = resolve(schema);
  if (depth > 6) return null;
  if (s.examples && s.examples.length) return s.examples[0];
  if (s.default !== undefined) return s.default;
  if (s.anyOf || s.oneOf) return example((s.anyOf || s.oneOf)[0], depth + 1);
  if (s.type === "object" || s.properties) {
    const out = {};
    for (const [name, prop] of Object.entries(s.properties || {})) {
      if (!s.required || s.required.includes(name)) out[name] = example(prop, depth + 1);
    }
    return out;
  }
  if (s.type === "array") return [example(s.items, depth + 1)];
  if (s.type === "integer" || s.type === "number") return 0;
  if (s.type === "boolean") return false;
  return "string";
}
function paramRows(params) {
  const table = el("table", {}, el("tr", {}, el("th", {}, "name"), el("th", {}, "in"),
    el("th", {}, "type"), el("th", {}, "description")));
  for (const p of params) {
    table.append(el("tr", {}, el("td", {}, p.name + (p.required ? " *" : "")), el("td", {}, p.in),
      el("td", {}, typeLabel(p.schema)), el("td", {}, p.description || "")));
  }
  return table;
}
function responseRows(responses) {
  const table = el("table", {}, el("tr", {}, el("th", {}, "status"), el("th", {}, "description"),
    el("th", {}, "body")));
  for (const [status, r] of Object.entries(responses)) {
    const media = Object.entries(r.content || {}).map(([m, c]) => m + " " + typeLabel(c.schema));
    table.append(el("tr", {}, el("td", {}, status), el("td", {}, r.description || ""),
      el("td", {}, media.join(", "))));
  }
  return table;
}
function tryIt(method, path, op) {
  const form = el("form", {});
  const inputs = [];
  for (const p of op.parameters || []) {
    const isArray = p.schema && p.schema.type === "array";
    const input = el(isArray ? "textarea" : "input", {placeholder: isArray ? "one per line" : ""});
    inputs.push([p, input]);
    form.append(el("label", {}, p.name + " (" + p.in + ")"), input);
  }
  let bodyInput = null;
  if (op.requestBody) {
    const schema = op.requestBody.content["application/json"].schema;
    bodyInput = el("textarea", {});
    bodyInput.value = JSON.stringify(example(schema, 0), null, 2);
    form.append(el("label", {}, "body (application/json)"), bodyInput);
  }
  const out = el("pre", {}, "");
  const send = el("button", {type: "submit"}, "Send");
  form.append(send, out);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    let url = path;
    const query = new URLSearchParams();
    const headers = {};
    for (const [p, input] of inputs) {
      const value = input.value.trim();
      if (!value) continue;
      if (p.in === "path") url = url.replace("{" + p.name + "}", encodeURIComponent(value));
      else if (p.in === "header") headers[p.name] = value;
      else for (const line of value.split("\n")) if (line.trim()) query.append(p.name, line.trim());
    }
    if (apiKey) headers["Authorization"] = "Bearer " + apiKey;
    const init = {method, headers};
    if (bodyInput) { init.body = bodyInput.value; headers["Content-Type"] = "application/json"; }
    const qs = query.toString();
    out.textContent = "…";
    try {
      const res = await fetch(url + (qs ? "?" + qs : ""), init);
      const text = await res.text();
      let shown = text;
      try { shown = JSON.stringify(JSON.parse(text), null, 2); } catch (e) { /* not JSON */ }
      const head = [...res.headers.entries()].map(([k, v]) => k + ": " + v).join("\n");
      out.textContent = res.status + " " + res.statusText + "\n" + head + "\n\n" + shown;
    } catch (e) {
      out.textContent = "request failed: " + e;
    }
  });
  return form;
}
function operation(method, path, op) {
  const up = method.toUpperCase();
  const body = el("div", {class: "body"});
  if (op.description) body.append(el("p", {}, op.description));
  if (op.security && op.security.length) {
    body.append(el("p", {class: "note"}, "Needs a Bearer API key."));
  }
  if ((op.parameters || []).length) {
    body.append(el("h4", {}, "Parameters"), paramRows(op.parameters));
  }
  if (op.requestBody) {
    const schema = op.requestBody.content["application/json"].schema;
    body.append(el("h4", {}, "Request body"), el("p", {}, "application/json " + typeLabel(schema)));
  }
  body.append(el("h4", {}, "Responses"), responseRows(op.responses || {}));
  body.append(el("h4", {}, "Try it"), tryIt(up, path, op));
  return el("details", {}, el("summary", {}, el("span", {class: "m " + up}, up), path + "  " +
    (op.summary || "")), body);
}
function render() {
  const main = document.getElementById("main");
  document.getElementById("title").textContent = doc.info.title + " " + doc.info.version;
  document.getElementById("summary").textContent = doc.info.description || "";
  const byTag = new Map();
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      const tag = (op.tags || ["other"])[0];
      if (!byTag.has(tag)) byTag.set(tag, []);
      byTag.get(tag).push(operation(method, path, op));
    }
  }
  for (const [tag, ops] of byTag) main.append(el("h2", {}, tag), ...ops);
  main.append(el("h2", {}, "Schemas"));
  for (const [name, schema] of Object.entries(doc.components.schemas)) {
    main.append(el("details", {id: "schema-" + name}, el("summary", {}, name),
      el("div", {class: "body"}, el("pre", {}, JSON.stringify(schema, null, 2)))));
  }
}
document.getElementById("key").addEventListener("input", (e) => { apiKey = e.target.value; });
fetch("openapi.json").then((r) => r.json()).then((d) => { Object.assign(doc, d); render(); })
  .catch((e) => {
    document.getElementById("main").textContent = "cannot load openapi.json: " + e;
  });
