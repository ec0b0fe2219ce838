"use strict";
(function () {
  const log = document.getElementById("log");
  const form = document.getElementById("composer");
  const input = document.getElementById("text");
  const send = document.getElementById("send");
  let lastId = 0;

  function render(m) {
    const div = document.createElement("div");
    div.className = "msg " + (m.from === "me" ? "me" : m.from);
    div.dataset.id = m.id;
    div.textContent = m.text;            // text only: never HTML from messages
    if (m.ticket && m.from !== "me") {
      const t = document.createElement("span");
      t.className = "ticket";
      t.textContent = "เลขที่เรื่อง " + m.ticket;
      div.appendChild(t);
    }
    if (m.alternatives && m.alternatives.length) {
      const box = document.createElement("div");
      box.className = "choices";
      m.alternatives.forEach(function (a) {
        const b = document.createElement("button");
        b.type = "button";
        b.textContent = a.title;
        b.addEventListener("click", function () { post(a.title); });
        box.appendChild(b);
      });
      div.appendChild(box);
    }
    log.appendChild(div);
    lastId = Math.max(lastId, m.id);
    log.scrollTop = log.scrollHeight;
  }

  function showError(text) {
    const div = document.createElement("div");
    div.className = "error";
    div.textContent = text;
    log.appendChild(div);
  }

  async function post(text) {
    send.disabled = true;
    try {
      const res = await fetch("/try/api/messages", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ text: text, id: crypto.randomUUID ? crypto.randomUUID() : String(Date.now()), after: lastId })
      });
      const data = await res.json().catch(function () { return {}; });
      if (!res.ok) { showError(data.error || "ส่งข้อความไม่สำเร็จ กรุณาลองใหม่"); return; }
      data.messages.forEach(render);
    } catch (e) {
      showError("เชื่อมต่อเซิร์ฟเวอร์ไม่ได้ กรุณาลองใหม่");
    } finally {
      send.disabled = false;
      input.focus();
    }
  }

  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    post(text);
  });
  input.addEventListener("keydown", function (ev) {
    if (ev.key === "Enter" && !ev.shiftKey) { ev.preventDefault(); form.requestSubmit(); }
  });
  fetch("/try/api/messages").then(function (r) { return r.json(); }).then(function (d) { d.messages.forEach(render); });
})();
