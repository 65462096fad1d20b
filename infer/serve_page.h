// The upload page `vigil serve` returns for GET /: pick or drop an image, see its class, decision and one bar per
// class probability. Plain HTML and inline JavaScript, no external resources; it posts to /predict_image.
#pragma once

namespace vigil::infer {

inline const char* upload_page_html() {
  return R"HTML(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>vigil</title>
<style>
  body { font: 15px/1.4 system-ui, sans-serif; max-width: 42rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
  h1 { font-size: 1.4rem; margin-bottom: .2rem; }
  #model { color: #666; margin-top: 0; }
  #drop { border: 2px dashed #999; border-radius: 8px; padding: 2rem; text-align: center; cursor: pointer; }
  #drop.over { border-color: #2a6; background: #f2fbf5; }
  #preview { max-width: 100%; max-height: 16rem; display: none; margin: 1rem auto 0; }
  #result { margin-top: 1.2rem; }
  .verdict { font-size: 1.2rem; font-weight: 600; }
  .row { display: flex; align-items: center; gap: .6rem; margin: .3rem 0; }
  .name { width: 7rem; }
  .track { flex: 1; background: #eee; border-radius: 4px; height: 1.1rem; overflow: hidden; }
  .bar { height: 100%; background: #4a8; }
  .bar.top { background: #2a6; }
  .pct { width: 4.5rem; text-align: right; font-variant-numeric: tabular-nums; }
  .error { color: #b22; }
  label { display: block; margin-top: 1rem; color: #555; }
  input[type=password] { width: 100%; box-sizing: border-box; padding: .3rem; }
</style>
</head>
<body>
<h1>vigil</h1>
<p id="model">image moderation classifier</p>
<div id="drop" tabindex="0">Drop an image here, or click to choose one
  <input id="file" type="file" accept="image/*" hidden>
</div>
<img id="preview" alt="">
<div id="result"></div>
<label>API key (only when the server requires one)
  <input id="key" type="password" autocomplete="off">
</label>
<script>
"use strict";
const drop = document.getElementById("drop"), picker = document.getElementById("file");
const preview = document.getElementById("preview"), result = document.getElementById("result");
const keyInput = document.getElementById("key");

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function headers() {
  const key = keyInput.value.trim();
  return key ? { "Authorization": "Bearer " + key } : {};
}

function show(data) {
  result.replaceChildren();
  const decision = Array.isArray(data.decision) ? (data.decision.join(", ") || "none") : data.decision;
  result.append(el("div", "verdict", data.class_name + "  (decision: " + decision + ")"));
  const probs = Object.entries(data.probabilities);
  for (const [name, p] of probs) {
    const row = el("div", "row");
    const track = el("div", "track"), bar = el("div", name === data.class_name ? "bar top" : "bar");
    bar.style.width = (100 * p).toFixed(1) + "%";
    track.append(bar);
    row.append(el("span", "name", name), track, el("span", "pct", (100 * p).toFixed(1) + " %"));
    result.append(row);
  }
  result.append(el("div", "", "model " + data.model_version));
}

async function classify(file) {
  if (!file) return;
  preview.src = URL.createObjectURL(file);
  preview.style.display = "block";
  result.replaceChildren(el("div", "", "classifying " + file.name + " ..."));
  const form = new FormData();
  form.append("file", file, file.name);
  try {
    const response = await fetch("predict_image", { method: "POST", body: form, headers: headers() });
    const data = await response.json().catch(() => ({ error: response.statusText }));
    if (!response.ok) throw new Error(response.status + ": " + (data.error || response.statusText));
    show(data);
  } catch (err) {
    result.replaceChildren(el("div", "error", String(err.message || err)));
  }
}

drop.addEventListener("click", () => picker.click());
drop.addEventListener("keydown", e => { if (e.key === "Enter" || e.key === " ") picker.click(); });
picker.addEventListener("change", () => classify(picker.files[0]));
drop.addEventListener("dragover", e => { e.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", e => {
  e.preventDefault();
  drop.classList.remove("over");
  classify(e.dataTransfer.files[0]);
});
function describe_model() {
  fetch("version", { headers: headers() }).then(r => r.ok ? r.json() : null).then(v => {
    if (v) document.getElementById("model").textContent =
        "model " + v.model_version + " on " + v.device + " - classes: " + v.classes.join(", ");
  }).catch(() => {});
}
keyInput.addEventListener("change", describe_model);
describe_model();
</script>
</body>
</html>
)HTML";
}

}  // namespace vigil::infer
