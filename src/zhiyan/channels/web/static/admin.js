// Knowledge admin: upload with a progress bar (XHR reports upload progress; fetch does
// not) and show what was added, replaced, left unchanged or skipped, and why.
"use strict";
(() => {
  const form = document.getElementById("upload");
  if (!form) return;
  const bar = document.getElementById("progress");
  const out = document.getElementById("upload-result");
  const S = document.getElementById("t-upload").dataset;

  function line(label, items, cls) {
    if (!items || !items.length) return;
    const p = document.createElement("p");
    if (cls) p.className = cls;
    const strong = document.createElement("strong");
    strong.textContent = label + ": ";
    p.append(strong, items.join(", "));
    out.append(p);
  }

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.responseType = "json";
    bar.hidden = false;
    bar.value = 0;
    out.textContent = S.uploading;
    xhr.upload.addEventListener("progress", (p) => {
      if (p.lengthComputable) bar.value = Math.round((100 * p.loaded) / p.total);
    });
    xhr.addEventListener("load", () => {
      bar.value = 100;
      out.textContent = "";
      const r = xhr.response || {};
      if (r.error) { line(S.failed, [r.error.message], "error"); return; }
      line(S.added, r.added);
      line(S.replaced, r.replaced);
      line(S.unchanged, r.unchanged);
      const skipped = (r.skipped || []).map((s) => (s.name ? s.name + " — " : "") + s.reason);
      line(S.skipped, skipped, "error");
      if ((r.added || []).length || (r.replaced || []).length) {
        const again = document.createElement("a");
        again.href = window.location.pathname;
        again.textContent = "↻ " + S.refresh;
        out.append(again);
      }
    });
    xhr.addEventListener("error", () => { out.textContent = S.failed; });
    xhr.send(new FormData(form));
  });
})();
