// The daemon's HTTP API as the console calls it: the same Lambda REST API and runtimed routes the
// CLI uses, same origin, signed with SigV4 when the daemon asks for a sign-in. Errors come back as
// ApiError with the status, x-amzn-ErrorType and message exactly as the daemon sent them.
import { signRequest } from "./sigv4.js";

const CREDENTIALS_KEY = "runtimed.console.credentials";

export class ApiError extends Error {
  constructor(status, type, message, requestId) {
    super(message);
    this.status = status;
    this.type = type;
    this.requestId = requestId;
  }
  // "404 ResourceNotFoundException: Function not found: …"
  describe() {
    return `${this.status}${this.type ? " " + this.type : ""}: ${this.message}`;
  }
}

let settings = { signIn: false, region: "us-east-1" };

// Reads /console/config.json: whether the daemon wants signed requests, and its region.
export async function loadSettings() {
  const response = await fetch("config.json", { cache: "no-store" });
  if (!response.ok) throw new ApiError(response.status, "", "cannot read the console's settings");
  settings = await response.json();
  return settings;
}

export function needsSignIn() {
  return settings.signIn && !credentials();
}
export function signInRequired() {
  return settings.signIn;
}
export function region() {
  return settings.region;
}

// The key pair lives in sessionStorage only: gone when the tab closes, never sent anywhere but as
// a signature.
export function credentials() {
  const stored = sessionStorage.getItem(CREDENTIALS_KEY);
  return stored ? JSON.parse(stored) : null;
}
export function setCredentials(accessKeyId, secretAccessKey) {
  sessionStorage.setItem(CREDENTIALS_KEY, JSON.stringify({ accessKeyId, secretAccessKey }));
}
export function signOut() {
  sessionStorage.removeItem(CREDENTIALS_KEY);
}

// One request. `path` starts with "/"; `query` is an object; `body` a string, or an object sent
// as JSON. Resolves to {status, headers, text}; rejects with ApiError for a non-2xx answer or when
// the daemon cannot be reached.
export async function request(method, path, { query, body, headers = {}, signal } = {}) {
  const url = new URL(path, location.origin);
  for (const [key, value] of Object.entries(query || {})) url.searchParams.set(key, String(value));
  const all = { ...headers };
  let payload;
  if (body !== undefined) {
    payload = typeof body === "string" ? body : JSON.stringify(body);
    if (!Object.keys(all).some((h) => h.toLowerCase() === "content-type"))
      all["Content-Type"] = "application/json";
  }
  if (settings.signIn) {
    const keys = credentials();
    if (!keys) throw new ApiError(0, "SignInRequired", "Sign in with an access key first");
    const bytes = payload === undefined ? new Uint8Array() : new TextEncoder().encode(payload);
    Object.assign(
      all,
      await signRequest({ method, url, headers: all, body: bytes }, keys, settings.region),
    );
  }
  let response;
  try {
    response = await fetch(url, { method, headers: all, body: payload, signal, cache: "no-store" });
  } catch (e) {
    if (e.name === "AbortError") throw e;
    throw new ApiError(0, "NetworkError", `The daemon did not answer (${e.message})`);
  }
  const text = await response.text();
  if (!response.ok) {
    let message = text;
    try {
      const parsed = JSON.parse(text);
      message = parsed.message ?? parsed.Message ?? text;
    } catch {
      // Not JSON: the text is the message.
    }
    throw new ApiError(
      response.status,
      response.headers.get("x-amzn-ErrorType") || "",
      message || response.statusText,
      response.headers.get("x-amzn-RequestId") || "",
    );
  }
  return { status: response.status, headers: response.headers, text };
}

export async function json(method, path, options) {
  const r = await request(method, path, options);
  return r.text ? JSON.parse(r.text) : {};
}

const FUNCTIONS = "/2015-03-31/functions";
const fn = (name) => `${FUNCTIONS}/${encodeURIComponent(name)}`;

export async function listFunctions() {
  const all = [];
  let marker;
  do {
    const page = await json("GET", FUNCTIONS, { query: marker ? { Marker: marker } : {} });
    all.push(...(page.Functions || []));
    marker = page.NextMarker;
  } while (marker);
  return all;
}
export const getFunction = (name) => json("GET", fn(name));
export const createFunction = (spec) => json("POST", FUNCTIONS, { body: spec });
export const updateConfiguration = (name, patch) =>
  json("PUT", `${fn(name)}/configuration`, { body: patch });
export const updateCode = (name, zipBase64) =>
  json("PUT", `${fn(name)}/code`, { body: { ZipFile: zipBase64 } });
export const deleteFunction = (name) => request("DELETE", fn(name));
export const health = () => json("GET", "/runtimed/v1/health");
// Live environments by function and version: {Environments: [{FunctionName, Version, Starting,
// Busy, Warm, Frozen}]}.
export const environments = () => json("GET", "/runtimed/v1/environments");
export const asyncBacklog = (name) =>
  json("GET", `/runtimed/v1/functions/${encodeURIComponent(name)}/async`);
export const metricsText = async () => (await request("GET", "/metrics")).text;

// Invoke with the log tail: {status, requestId, functionError, body, log, executedVersion}.
export async function invoke(name, payload, type) {
  const r = await request("POST", `${fn(name)}/invocations`, {
    body: payload,
    headers: { "X-Amz-Invocation-Type": type, "X-Amz-Log-Type": type === "Event" ? "None" : "Tail" },
  });
  const logResult = r.headers.get("X-Amz-Log-Result");
  return {
    status: r.status,
    requestId: r.headers.get("x-amzn-RequestId") || "",
    functionError: r.headers.get("X-Amz-Function-Error") || "",
    body: r.text,
    log: logResult ? decodeBase64Utf8(logResult) : "",
  };
}

// The function's log from `offset` (or its last `tail` lines); with follow, the daemon waits up to
// 20 s for new text. Resolves to {text, offset (where the text ends)}.
export async function readLog(name, { offset, tail, follow, signal }) {
  const query = {};
  if (offset !== undefined) query.offset = offset;
  if (tail !== undefined) query.tail = tail;
  if (follow) query.follow = 1;
  const r = await request("GET", `/runtimed/v1/functions/${encodeURIComponent(name)}/logs`, {
    query,
    signal,
  });
  return { text: r.text, offset: Number(r.headers.get("X-Runtimed-Log-Offset") || 0) };
}

export const listQueues = () => json("GET", "/runtimed/v1/queues");
const queue = (name) => `/runtimed/v1/queues/${encodeURIComponent(name)}`;
// Visibility 0: reading a message in the console does not hide it from other readers.
export const peekMessages = (name, max) =>
  json("POST", `${queue(name)}/receive`, { query: { max, visibility: 0 } });
export const redriveQueue = (name) => json("POST", `${queue(name)}/redrive`);
export const purgeQueue = (name) => json("POST", `${queue(name)}/purge`);

export function decodeBase64Utf8(text) {
  const binary = atob(text);
  const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
  return new TextDecoder().decode(bytes);
}

export function encodeBase64(bytes) {
  let binary = "";
  const chunk = 0x8000;
  for (let i = 0; i < bytes.length; i += chunk)
    binary += String.fromCharCode.apply(null, bytes.subarray(i, i + chunk));
  return btoa(binary);
}
