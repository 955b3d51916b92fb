// AWS Signature Version 4 in the browser (WebCrypto), as api/sigv4.cpp verifies it: the canonical
// request over host, x-amz-date, x-amz-content-sha256 and the x-amz-* headers sent, the string to
// sign, and the signing key derived from the secret, date, region and service.
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html

const encoder = new TextEncoder();

function hex(buffer) {
  return Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, "0")).join("");
}

export async function sha256Hex(data) {
  const bytes = typeof data === "string" ? encoder.encode(data) : data;
  return hex(await crypto.subtle.digest("SHA-256", bytes));
}

async function hmac(key, text) {
  const k = await crypto.subtle.importKey(
    "raw",
    typeof key === "string" ? encoder.encode(key) : key,
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  return crypto.subtle.sign("HMAC", k, encoder.encode(text));
}

// RFC 3986 encoding as SigV4 wants it: everything but A-Z a-z 0-9 - _ . ~ is %XX (uppercase).
export function awsEncode(text) {
  return Array.from(encoder.encode(text), (b) => {
    const c = String.fromCharCode(b);
    return /[A-Za-z0-9\-_.~]/.test(c) ? c : "%" + b.toString(16).toUpperCase().padStart(2, "0");
  }).join("");
}

// "20260102T030405Z" for `date`.
export function amzDate(date) {
  return date.toISOString().replace(/[:-]|\.\d{3}/g, "");
}

// The headers to add to a request so the daemon accepts it: x-amz-date, x-amz-content-sha256 and
// Authorization. `url` is a URL (its host is what the browser sends as Host), `headers` a plain
// object of the headers the request will carry, `body` a string or Uint8Array.
export async function signRequest({ method, url, headers, body }, credentials, region, now) {
  const service = "lambda";
  const stamp = amzDate(now || new Date());
  const day = stamp.slice(0, 8);
  const payloadHash = await sha256Hex(body || "");
  const signed = { host: url.host, "x-amz-date": stamp, "x-amz-content-sha256": payloadHash };
  for (const [name, value] of Object.entries(headers || {})) {
    const lower = name.toLowerCase();
    if (lower.startsWith("x-amz-")) signed[lower] = String(value);
  }
  const names = Object.keys(signed).sort();
  // The daemon canonicalizes the path as sent (percent-encoded), encoding each segment again.
  const canonicalPath = url.pathname
    .split("/")
    .map((segment) => awsEncode(segment))
    .join("/");
  const query = [];
  for (const [key, value] of url.searchParams) query.push([awsEncode(key), awsEncode(value)]);
  query.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  const canonicalRequest = [
    method,
    canonicalPath,
    query.map(([k, v]) => `${k}=${v}`).join("&"),
    names.map((n) => `${n}:${signed[n].trim().replace(/ +/g, " ")}\n`).join(""),
    names.join(";"),
    payloadHash,
  ].join("\n");
  const scope = `${day}/${region}/${service}/aws4_request`;
  const stringToSign = [
    "AWS4-HMAC-SHA256",
    stamp,
    scope,
    await sha256Hex(canonicalRequest),
  ].join("\n");
  let key = await hmac("AWS4" + credentials.secretAccessKey, day);
  key = await hmac(key, region);
  key = await hmac(key, service);
  key = await hmac(key, "aws4_request");
  const signature = hex(await hmac(key, stringToSign));
  return {
    "X-Amz-Date": stamp,
    "X-Amz-Content-Sha256": payloadHash,
    Authorization:
      `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/${scope}, ` +
      `SignedHeaders=${names.join(";")}, Signature=${signature}`,
  };
}
