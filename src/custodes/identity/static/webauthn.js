// custodes: the WebAuthn glue for the identity pages, and nothing else. Binary fields travel
// as base64url in the JSON shape py_webauthn reads. No third-party code, no storage.
"use strict";

const b64u = {
  toBytes(text) {
    let s = text.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) s += "=";
    return Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
  },
  fromBytes(buffer) {
    let bin = "";
    new Uint8Array(buffer).forEach((b) => { bin += String.fromCharCode(b); });
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  },
};

function creationOptions(o) {
  o.challenge = b64u.toBytes(o.challenge);
  o.user.id = b64u.toBytes(o.user.id);
  (o.excludeCredentials || []).forEach((c) => { c.id = b64u.toBytes(c.id); });
  return o;
}

function requestOptions(o) {
  o.challenge = b64u.toBytes(o.challenge);
  (o.allowCredentials || []).forEach((c) => { c.id = b64u.toBytes(c.id); });
  return o;
}

// The JSON py_webauthn reads: the named binary fields of the response as base64url, plus extras.
function credentialJSON(cred, binary, extras) {
  const r = cred.response;
  const response = extras(r);
  binary.forEach((name) => { response[name] = b64u.fromBytes(r[name]); });
  return {
    id: cred.id, rawId: b64u.fromBytes(cred.rawId), type: cred.type, response,
    clientExtensionResults: cred.getClientExtensionResults(),
  };
}

function registrationJSON(cred) {
  return credentialJSON(cred, ["clientDataJSON", "attestationObject"],
    (r) => ({ transports: r.getTransports ? r.getTransports() : [] }));
}

function assertionJSON(cred) {
  return credentialJSON(cred, ["authenticatorData", "clientDataJSON", "signature"],
    (r) => ({ userHandle: r.userHandle ? b64u.fromBytes(r.userHandle) : null }));
}

async function post(url, body, csrf) {
  const headers = { "Content-Type": "application/json" };
  if (csrf) headers["X-CSRF-Token"] = csrf;
  const response = await fetch(url, {
    method: "POST", headers, body: JSON.stringify(body), credentials: "same-origin",
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(data.detail || `refused (${response.status})`);
  return data;
}

function say(text, kind) {
  const status = document.getElementById("status");
  status.textContent = text;
  status.dataset.kind = kind || "info";
}

function guard(button, work) {
  button.addEventListener("click", async () => {
    button.disabled = true;
    try { await work(); } catch (err) { say(err.message || String(err), "error"); }
    finally { button.disabled = false; }
  });
}

function enrollPage() {
  // The secret rides in the fragment (never sent to a server); take it and clear the bar.
  const token = location.hash.slice(1);
  history.replaceState(null, "", location.pathname);
  if (!token) say("Open this page from your enrollment link.", "error");
  guard(document.getElementById("enroll"), async () => {
    const start = await post("/enroll/options", { token });
    const cred = await navigator.credentials.create({ publicKey: creationOptions(start.options) });
    const password = document.getElementById("password").value;
    const done = await post("/enroll/finish", {
      token, challenge_id: start.challenge_id, credential: registrationJSON(cred), password,
    });
    say("Passkey registered.", "ok");
    location.assign(done.next);
  });
}

function signinPage() {
  guard(document.getElementById("passkey-signin"), async () => {
    const start = await post("/signin/options", {});
    const cred = await navigator.credentials.get({ publicKey: requestOptions(start.options) });
    const done = await post("/signin/finish", {
      challenge_id: start.challenge_id, credential: assertionJSON(cred),
    });
    location.assign(done.next);
  });
}

function inboxPage() {
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  document.querySelectorAll("section.request").forEach((section) => {
    section.querySelectorAll("button.decide").forEach((button) => {
      guard(button, async () => {
        const decision = button.dataset.decision;
        const start = await post("/inbox/options", {
          request_id: section.dataset.request, decision,
        }, csrf);
        const cred = await navigator.credentials.get({ publicKey: requestOptions(start.options) });
        const done = await post("/inbox/finish", {
          approval_id: start.approval_id, credential: assertionJSON(cred),
        }, csrf);
        section.querySelector(".outcome").textContent =
          `${done.decision === "approve" ? "Approved" : "Refused"}: ${done.outcome || "recorded"}`;
        section.querySelectorAll("button.decide").forEach((b) => { b.hidden = true; });
        say("Signed with your passkey.", "ok");
      });
    });
  });
}

document.addEventListener("DOMContentLoaded", () => {
  const page = document.body.dataset.page;
  if (page === "enroll") enrollPage();
  else if (page === "signin") signinPage();
  else if (page === "inbox") inboxPage();
});
