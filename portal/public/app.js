// The portal's pages: plain DOM code over the JSON API (/api). The server decides everything; this
// only shows it, and shows each refused change's messages next to the fields they name.
"use strict";
const $ = (sel, root = document) => root.querySelector(sel);
const $$ = (sel, root = document) => [...root.querySelectorAll(sel)];
let session = null;
let domain = null;
let view = null;
let preview = null;

async function api(method, url, body) {
  const headers = { accept: "application/json" };
  if (body !== undefined) headers["content-type"] = "application/json";
  if (session && method !== "GET") headers["x-csrf-token"] = session.csrfToken;
  const res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: "same-origin" });
  const data = res.headers.get("content-type")?.includes("json") ? await res.json() : {};
  if (!res.ok) throw Object.assign(new Error(data.error || res.statusText), { status: res.status, errors: data.errors || [] });
  return data;
}

const text = (el, value) => { el.textContent = value ?? ""; return el; };
function cell(row, value, cls) { const td = row.insertCell(); text(td, value); if (cls) td.className = cls; return td; }
function button(label, onClick) { const b = document.createElement("button"); b.type = "button"; text(b, label); b.addEventListener("click", onClick); return b; }

/** Clears a form's messages, then shows the server's: each next to its field, the rest above the form's button. */
function showErrors(form, err) {
  $$(".error", form).forEach((e) => text(e, ""));
  if (!err) return;
  const list = err.errors && err.errors.length ? err.errors : [{ field: "", message: err.message }];
  for (const e of list) {
    const target = $(`.error[data-for="${e.field}"]`, form) || $('.error[data-for=""]', form);
    text(target, (target.textContent ? target.textContent + "\n" : "") + e.message);
  }
}

function onSubmit(form, handler) {
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    showErrors(form);
    const ok = $(".ok", form);
    if (ok) text(ok, "");
    try {
      await handler(Object.fromEntries(new FormData(form)));
    } catch (err) {
      showErrors(form, err);
    }
  });
}

// --- a mailbox's own forwards: the same fields in the user's form and in the staff's ------------------
for (const form of $$("form.forwards")) form.insertBefore($("#forward-fields").content.cloneNode(true), $("button", form));

/** Fills a forwards form from a mailbox ({ forwardTo, keepCopy }). */
function showForwards(form, mailbox) {
  $("[name=forwardTo]", form).value = mailbox.forwardTo.join(", ");
  $("[name=keepCopy]", form).checked = mailbox.keepCopy !== false;
}

/** What a forwards form sets, as the API takes it. */
const forwardsOf = (form) => ({ forwardTo: $("[name=forwardTo]", form).value, keepCopy: $("[name=keepCopy]", form).checked });

/** A mailbox's forwards as one table cell. */
const forwardsText = (m) => (m.forwardTo.length ? `${m.forwardTo.join(", ")}${m.keepCopy === false ? " (forward only)" : " (keeps a copy)"}` : "");

async function start() {
  try {
    session = await api("GET", "/api/session");
  } catch {
    session = null;
  }
  render();
}

function render() {
  $("#signin").hidden = !!session;
  $("#signout").hidden = !session;
  $("#staff").hidden = !session || session.principal.kind === "user";
  $("#operator").hidden = !session || session.principal.kind !== "operator";
  $("#user").hidden = !session || session.principal.kind !== "user";
  if (!session) return text($("#who"), "");
  const p = session.principal;
  text($("#who"), p.kind === "user" ? p.address : `${p.name} (${p.kind})`);
  if (p.kind === "user") loadMe();
  else loadDomains();
  if (p.kind === "operator") loadPlatform();
}

onSubmit($("#signin-form"), async (f) => {
  const r = await api("POST", "/api/session", f);
  session = { ...r };
  session = await api("GET", "/api/session");
  $("#signin-form").reset();
  render();
});
$("#signout").addEventListener("click", async () => { await api("DELETE", "/api/session"); session = null; render(); });

// --- staff: domains ------------------------------------------------------------------------------
async function loadDomains() {
  const domains = await api("GET", "/api/domains");
  const sel = $("#domain");
  sel.replaceChildren(...domains.map((d) => Object.assign(document.createElement("option"), { value: d, textContent: d })));
  if (!domains.includes(domain)) domain = domains[0];
  sel.value = domain;
  await loadDomain();
}
$("#domain").addEventListener("change", (ev) => { domain = ev.target.value; loadDomain(); });

async function loadDomain() {
  if (!domain) return;
  view = await api("GET", `/api/domains/${encodeURIComponent(domain)}`);
  $$(".at").forEach((e) => text(e, `@${domain}`));
  const mb = $("#mailboxes tbody");
  mb.replaceChildren();
  for (const m of view.mailboxes) {
    const row = mb.insertRow();
    cell(row, m.address);
    cell(row, m.quota || "default");
    cell(row, m.state);
    cell(row, forwardsText(m));
    const actions = row.insertCell();
    /** Opens a form below the tables for this mailbox. */
    const open = (form) => { form.hidden = false; form.dataset.address = m.address; form.dataset.version = m.version; text($(".target", form), m.address); showErrors(form); return form; };
    actions.append(
      button("Reset password", () => open($("#reset-form"))),
      button("Forwards", () => showForwards(open($("#mailbox-forward-form")), m)),
      button(m.state === "disabled" ? "Enable" : "Disable", () => change("PATCH", `/api/mailboxes/${encodeURIComponent(m.address)}`, { version: m.version, state: m.state === "disabled" ? "active" : "disabled" })),
      button("Delete", () => change("DELETE", `/api/mailboxes/${encodeURIComponent(m.address)}?version=${m.version}`)),
    );
  }
  const rt = $("#routes tbody");
  rt.replaceChildren();
  for (const [kind, items] of [["aliases", view.aliases], ["lists", view.lists], ["forwards", view.forwards]]) {
    for (const o of items) {
      const row = rt.insertRow();
      cell(row, kind.replace(/e?s$/, ""));
      cell(row, o.address);
      cell(row, [].concat(o.to ?? o.members).join(", "));
      row.insertCell().append(button("Delete", () => change("DELETE", `/api/${kind}/${encodeURIComponent(o.address)}?version=${o.version}`)));
    }
  }
  $("#catchall-form [name=catchAll]").value = view.catchAll || "";
  const dkim = await api("GET", `/api/domains/${encodeURIComponent(domain)}/dkim`);
  $("#selectors").replaceChildren(...dkim.selectors.map((s) => text(document.createElement("li"), `${s.name}: ${s.state}`)),
    ...(dkim.own ? [] : [text(document.createElement("li"), "(the platform's selectors: the first step gives this domain its own)")]));
  $("#dkim-form").dataset.version = dkim.version;
}

/** A change from a table's button: errors appear in an alert-free line above the tables. */
async function change(method, url, body) {
  try {
    await api(method, url, body);
  } catch (err) {
    showErrors($("#mailbox-form"), err);
  }
  await loadDomain();
}

onSubmit($("#mailbox-form"), async (f) => {
  await api("POST", `/api/domains/${encodeURIComponent(domain)}/mailboxes`, f);
  $("#mailbox-form").reset();
  await loadDomain();
});
onSubmit($("#reset-form"), async (f) => {
  const form = $("#reset-form");
  await api("PATCH", `/api/mailboxes/${encodeURIComponent(form.dataset.address)}`, { version: form.dataset.version, password: f.password });
  form.reset();
  form.hidden = true;
  await loadDomain();
});
onSubmit($("#mailbox-forward-form"), async () => {
  const form = $("#mailbox-forward-form");
  await api("PATCH", `/api/mailboxes/${encodeURIComponent(form.dataset.address)}`, { version: form.dataset.version, ...forwardsOf(form) });
  form.hidden = true;
  await loadDomain();
});
onSubmit($("#route-form"), async (f) => {
  const body = f.kind === "lists" ? { address: f.address, members: f.to } : { address: f.address, to: f.to };
  await api("POST", `/api/domains/${encodeURIComponent(domain)}/${f.kind}`, body);
  $("#route-form").reset();
  await loadDomain();
});
onSubmit($("#catchall-form"), async (f) => {
  await api("PUT", `/api/domains/${encodeURIComponent(domain)}/catch-all`, { version: view.version, catchAll: f.catchAll });
  await loadDomain();
});
onSubmit($("#dkim-form"), async (f) => {
  await api("POST", `/api/domains/${encodeURIComponent(domain)}/dkim/rotate`, { ...f, version: $("#dkim-form").dataset.version });
  $("#dkim-form").reset();
  await loadDomain();
});
$("#dns-check").addEventListener("click", async () => {
  const tb = $("#dns tbody");
  tb.replaceChildren();
  for (const r of await api("GET", `/api/domains/${encodeURIComponent(domain)}/dns`)) {
    const row = tb.insertRow();
    cell(row, r.name);
    cell(row, r.type);
    cell(row, r.value.length > 80 ? r.value.slice(0, 77) + "..." : r.value);
    cell(row, r.matches ? "matches" : r.published.length ? `differs: ${r.published.join(" | ").slice(0, 60)}` : "not published", r.matches ? "match" : "mismatch");
  }
});

// --- staff: preview and apply --------------------------------------------------------------------
$("#preview").addEventListener("click", async () => {
  preview = await api("GET", "/api/changes");
  const box = $("#changeset");
  box.replaceChildren();
  const empty = preview.hosts.length === 0 && preview.resources.length === 0 && preview.dns.length === 0;
  if (empty) box.append(text(document.createElement("p"), "No changes: every host runs this configuration and DNS publishes its records."));
  for (const h of preview.hosts) {
    const div = document.createElement("div");
    div.className = "host-change";
    div.append(text(document.createElement("h3"), `${h.host} (${h.role}): reloads ${h.services.map((s) => `${s.service} (${s.action})`).join(", ") || "nothing"}`));
    const ul = document.createElement("ul");
    for (const f of h.files) ul.append(text(document.createElement("li"), `${f.change}: ${f.path}`));
    div.append(ul);
    box.append(div);
  }
  for (const r of preview.resources) box.append(text(document.createElement("p"), `${r.op} ${r.type} ${r.urn}`));
  if (preview.dns.length > 0) {
    const div = document.createElement("div");
    div.className = "dns-change";
    div.append(text(document.createElement("h3"), "DNS records"));
    const ul = document.createElement("ul");
    for (const r of preview.dns) ul.append(text(document.createElement("li"), `${r.change}: ${r.name} ${r.type}`));
    div.append(ul);
    box.append(div);
  }
  $("#apply").disabled = empty;
});

$("#apply").addEventListener("click", async () => {
  $("#apply").disabled = true;
  const result = $("#apply-result");
  try {
    const { id } = await api("POST", "/api/applies", { configVersion: preview.configVersion });
    const table = $("#progress");
    table.hidden = false;
    const tb = $("tbody", table);
    tb.replaceChildren();
    const rows = new Map();
    text(result, "Applying…");
    const events = new EventSource(`/api/applies/${id}/events`);
    events.onmessage = (m) => {
      const e = JSON.parse(m.data);
      if (e.done) {
        events.close();
        text(result, `Apply ${e.done.outcome}: ${e.done.summary || ""}`);
        result.className = `state-${e.done.outcome}`;
        if (session.principal.kind === "operator") loadPlatform();
        return;
      }
      const key = e.host || `log-${rows.size}`;
      const row = rows.get(key) || tb.insertRow();
      rows.set(key, row);
      row.replaceChildren();
      cell(row, e.host || "");
      cell(row, e.state, `state-${e.state}`);
      cell(row, e.message || e.summary || "");
    };
  } catch (err) {
    text(result, err.message);
    result.className = "state-failed";
  }
});

// --- operators --------------------------------------------------------------------------------------
async function loadPlatform() {
  const p = await api("GET", "/api/platform");
  const hosts = $("#hosts tbody");
  hosts.replaceChildren();
  for (const h of p.hosts) { const row = hosts.insertRow(); cell(row, h.name); cell(row, h.role); cell(row, h.state, h.state === "up" ? "match" : "mismatch"); cell(row, h.detail); }
  const applies = $("#applies tbody");
  applies.replaceChildren();
  for (const a of p.applies) { const row = applies.insertRow(); cell(row, a.startedAt); cell(row, a.who); cell(row, a.outcome, `state-${a.outcome}`); cell(row, a.summary); }
  const audit = $("#audit tbody");
  audit.replaceChildren();
  for (const e of (await api("GET", "/api/audit")).slice(0, 30)) { const row = audit.insertRow(); cell(row, e.at); cell(row, e.who); cell(row, e.action); cell(row, e.object); cell(row, e.outcome); }
}

// --- mail users ------------------------------------------------------------------------------------
let me = null;
/** Where a user's own change goes: the hosts its apply updates, or after the apply that runs now. */
const applyingTo = (r) => (r.queued ? "after the apply that runs now" : `(${r.hosts.length} host(s): ${r.hosts.join(", ")})`);
async function loadMe() {
  me = await api("GET", "/api/me");
  text($("#me"), me.address);
  showForwards($("#forward-form"), me);
}
onSubmit($("#password-form"), async (f) => {
  const r = await api("PUT", "/api/me/password", f);
  $("#password-form").reset();
  text($("#password-form .ok"), `Saved. Your new password is being applied to the platform ${applyingTo(r)}.`);
});
onSubmit($("#forward-form"), async () => {
  const r = await api("PUT", "/api/me/forwards", { version: me.version, ...forwardsOf($("#forward-form")) });
  await loadMe();
  text($("#forward-form .ok"), `Saved and being applied ${applyingTo(r)}.`);
});

start();
