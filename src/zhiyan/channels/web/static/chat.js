// Chat: send with fetch and show the answer as it streams (Server-Sent Events over a POST).
// Everything here is an enhancement: the compose and retry forms also work as plain posts.
// Streamed text is only ever set with textContent; the finished answer is the HTML the
// server renders for the page (escaped first), so both look the same.
"use strict";
(() => {
  const form = document.getElementById("compose");
  const list = document.getElementById("messages");
  const chat = document.getElementById("chat");
  const S = document.getElementById("t-strings").dataset;
  const csrf = document.querySelector('meta[name="csrf"]').content;
  let busy = false;

  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text != null) node.textContent = text;
    return node;
  }

  function link(text, url, cls) {
    const a = el("a", cls, text);
    a.href = url;
    a.target = "_blank";
    a.rel = "noopener";
    return a;
  }

  function bubble(role, text) {
    const empty = list.querySelector(".empty");
    if (empty) empty.remove();
    const li = el("li", "msg " + role);
    li.append(el("span", "who", role === "user" ? S.you : S.assistant), el("div", "text", text));
    list.append(li);
    li.scrollIntoView({ block: "end" });
    return li;
  }

  function finish(li, d) {
    // the server's rendering of the final answer: escaped there, then bold/code/[n] links
    li.querySelector(".text").innerHTML = d.html;
    if (d.citations.length) {
      const ol = el("ol", "sources");
      ol.setAttribute("aria-label", S.sources);
      for (const c of d.citations) {
        const item = el("li");
        item.append(link(`[${c.number}] ${c.title}` + (c.version ? ` · v${c.version}` : ""), c.url));
        ol.append(item);
      }
      li.append(ol);
    }
    const actions = el("div", "actions");
    const copy = el("button", "copy", S.copy);
    const retry = el("button", "retry-js", S.retry);
    copy.type = retry.type = "button";
    actions.append(copy, retry);
    li.append(actions);
    li.dataset.id = d.message_id;
  }

  function started(meta) {
    if (chat.dataset.conversation === meta.conversation_id) return;
    chat.dataset.conversation = meta.conversation_id;
    form.elements.conversation_id.value = meta.conversation_id;
    history.replaceState(null, "", "/?c=" + encodeURIComponent(meta.conversation_id));
    const convs = document.getElementById("conversations");
    const empty = convs.querySelector(".empty");
    if (empty) empty.remove();
    const item = el("li", "current");
    const a = el("a", null, meta.title);
    a.href = "/?c=" + encodeURIComponent(meta.conversation_id);
    item.append(a);
    convs.prepend(item);
  }

  async function ask(text, retry) {
    if (busy) return;
    busy = true;
    form.querySelector("button[type=submit]").disabled = true;
    document.querySelectorAll("form.retry, .retry-js").forEach((x) => x.remove());
    if (retry) {
      const answers = list.querySelectorAll(".msg.assistant");
      if (answers.length) answers[answers.length - 1].remove();
    } else {
      bubble("user", text);
    }
    const li = bubble("assistant", S.thinking);
    li.classList.add("pending");
    const body = li.querySelector(".text");
    let got = "", done = false;
    const handle = (event, d) => {
      if (event === "meta") started(d);
      else if (event === "done") { li.classList.remove("pending"); finish(li, d); done = true; }
      else if (event === "error") throw new Error(d.message);
      else { if (!got) li.classList.remove("pending"); got += d; body.textContent = got; }
    };
    try {
      const res = await fetch("/chat/stream", {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify({ text, retry, conversation_id: chat.dataset.conversation || null }),
      });
      if (!res.ok) {
        let message = S.failed;
        try { message = (await res.json()).error.message; } catch (_) { /* not JSON */ }
        throw new Error(message);
      }
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buf = "";
      for (;;) {
        const { value, done: end } = await reader.read();
        if (end) break;
        buf += value;
        let cut;
        while ((cut = buf.indexOf("\n\n")) >= 0) {
          const raw = buf.slice(0, cut);
          buf = buf.slice(cut + 2);
          let event = "message", data = "";
          for (const line of raw.split("\n")) {
            if (line.startsWith("event: ")) event = line.slice(7);
            else if (line.startsWith("data: ")) data += line.slice(6);
          }
          if (data) handle(event, JSON.parse(data));
        }
      }
      if (!done) throw new Error(S.failed);
    } catch (err) {
      li.classList.remove("pending");
      li.classList.add("failed");
      body.textContent = (got ? got + "\n\n" : "") + err.message;
      const again = el("button", "retry-js", S.retry);
      again.type = "button";
      const actions = el("div", "actions");
      actions.append(again);
      li.append(actions);
    } finally {
      busy = false;
      form.querySelector("button[type=submit]").disabled = false;
    }
  }

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const text = form.elements.text.value.trim();
    if (!text) return;
    form.elements.text.value = "";
    ask(text, false);
  });
  form.elements.text.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      form.requestSubmit();
    }
  });
  document.addEventListener("submit", (e) => {
    if (e.target.matches("form.retry")) { e.preventDefault(); ask("", true); }
  });
  document.addEventListener("click", async (e) => {
    const button = e.target.closest("button");
    if (!button) return;
    if (button.classList.contains("retry-js")) { ask("", true); return; }
    if (!button.classList.contains("copy")) return;
    const text = button.closest(".msg").querySelector(".text").textContent;
    try {
      await navigator.clipboard.writeText(text);
    } catch (_) {
      const area = el("textarea", null, null);
      area.value = text;
      document.body.append(area);
      area.select();
      document.execCommand("copy");
      area.remove();
    }
    button.textContent = S.copied;
    setTimeout(() => { button.textContent = S.copy; }, 1500);
  });
})();
