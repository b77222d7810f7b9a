// Sangam console shell: keyboard shortcuts, toasts, confirmations and live updates.
(function () {
  "use strict";

  function toast(text, kind) {
    const box = document.getElementById("toasts");
    if (!box) return;
    const el = document.createElement("div");
    el.className = "toast " + (kind || "");
    el.textContent = text;
    box.appendChild(el);
    setTimeout(() => el.remove(), 5000);
  }
  window.sangamToast = toast;

  // Server-sent toasts: HX-Trigger: {"toast": {"text": "...", "kind": "error"}}
  document.addEventListener("toast", (e) => toast(e.detail.text || e.detail.value, e.detail.kind));
  document.addEventListener("htmx:responseError", (e) => {
    if (e.detail.xhr.status >= 500) toast("The server could not finish that. Try again.", "error");
  });
  document.addEventListener("htmx:sendError", () => toast("The console cannot reach the server.", "error"));
  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll("#toasts .toast").forEach((el) => setTimeout(() => el.remove(), 5000));
    live.connect();
  });
  document.addEventListener("submit", (e) => {
    const button = e.submitter;
    if (button && button.dataset.confirm && !window.confirm(button.dataset.confirm)) e.preventDefault();
  }, true);

  // Keyboard: "/" search, "g x" go to a section, "?" help, Esc closes.
  let pendingG = 0;
  function typing(target) {
    return target.closest("input, textarea, select, [contenteditable=true]");
  }
  document.addEventListener("keydown", (e) => {
    const help = document.getElementById("shortcuts");
    if (e.key === "Escape") {
      if (help) help.hidden = true;
      const results = document.getElementById("search-results");
      if (results) results.innerHTML = "";
      return;
    }
    if (typing(e.target) || e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.key === "/") {
      const search = document.getElementById("global-search");
      if (search) { e.preventDefault(); search.focus(); }
    } else if (e.key === "?") {
      if (help) help.hidden = !help.hidden;
    } else if (e.key === "g") {
      pendingG = Date.now();
    } else if (pendingG && Date.now() - pendingG < 1200) {
      const link = document.querySelector('.rail a[data-key="' + e.key + '"]');
      pendingG = 0;
      if (link) { e.preventDefault(); window.location.href = link.href; }
    }
  });

  // Live updates: one WebSocket for the topics on this page; a notice makes each element with
  // that data-live-topic fire its "live" htmx trigger, which re-renders it from the database.
  const live = {
    socket: null,
    retry: 500,
    topics() {
      return [...new Set([...document.querySelectorAll("[data-live-topic]")].map((el) => el.dataset.liveTopic))];
    },
    connect() {
      const topics = this.topics();
      if (!topics.length) return;
      const scheme = location.protocol === "https:" ? "wss://" : "ws://";
      const url = scheme + location.host + "/ws/live/?topics=" + encodeURIComponent(topics.join(","));
      const socket = new WebSocket(url);
      this.socket = socket;
      socket.onmessage = (msg) => {
        const data = JSON.parse(msg.data);
        if (data.type === "subscribed") {
          document.body.dataset.live = "on";
          if (this.reconnected) this.refresh(topics);
          this.retry = 500;
        } else if (data.type === "notice") {
          this.refresh([data.topic]);
          document.dispatchEvent(new CustomEvent("live:notice", { detail: data }));
        }
      };
      socket.onclose = () => {
        document.body.dataset.live = "off";
        this.reconnected = true;
        setTimeout(() => this.connect(), this.retry);
        this.retry = Math.min(this.retry * 2, 10000);
      };
    },
    refresh(topics) {
      topics.forEach((topic) => {
        document.querySelectorAll('[data-live-topic="' + topic + '"]').forEach((el) => htmx.trigger(el, "live"));
      });
    },
  };
  window.sangamLive = live;
})();
