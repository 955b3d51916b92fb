// runtimed's Node.js runtime: loads the function's handler once, then serves the Lambda Runtime API.
// Built-in modules only. Error objects, messages and log lines follow AWS's own Node.js runtime
// (aws-lambda-nodejs-runtime-interface-client) so functions and callers see what Lambda shows.
// CommonJS, not an ES module: node starts an .mjs entry through its ES module loader, which cost
// ~10% of a cold start; ES module handlers still load with import(), which starts it when needed.
'use strict';
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const { pathToFileURL } = require('node:url');
const util = require('node:util');

// A stem (RUNTIMED_STEM_FD set): this node started before its function was chosen, in the
// environment the function will run in. Wait here until the daemon has bound the function's code
// and sends its environment (NUL-separated KEY=VALUE, then EOF), then become that function's
// runtime as if started with it: its environment, /var/task as the working directory, NODE_PATH's
// module paths. Nothing of the function is loaded before that.
(function awaitFunction() {
  const stemFd = process.env.RUNTIMED_STEM_FD;
  if (stemFd === undefined) return;
  const block = fs.readFileSync(Number(stemFd));
  fs.closeSync(Number(stemFd));
  if (block.length === 0) process.exit(0); // discarded before it got a function
  for (const key of Object.keys(process.env)) delete process.env[key];
  for (const entry of block.toString('utf8').split('\0')) {
    const eq = entry.indexOf('=');
    if (eq > 0) process.env[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  process.chdir(process.env.LAMBDA_TASK_ROOT || '/var/task');
  require('node:module')._initPaths(); // NODE_PATH is read once, at start
})();

const [apiHost, apiPort] = process.env.AWS_LAMBDA_RUNTIME_API.split(':');
const taskRoot = process.env.LAMBDA_TASK_ROOT || '/var/task';

// The Runtime API over one keep-alive connection, one request at a time in the order asked (as
// an http.Agent with maxSockets 1 queues them). A few lines of HTTP/1.1 on a net.Socket rather
// than http.request: node's HTTP client spent most of the runtime's CPU per invocation (request
// objects, agent bookkeeping, header validation, two writes per POST), and the daemon's answers
// always carry Content-Length. Resolves to {status, headers (lower-cased names), body: Buffer}.
const INVALID_HEADER_CHAR = /[^\t\x20-\x7e\x80-\xff]/;
const NON_ASCII = /[^\x00-\x7f]/;
class RuntimeClient {
  constructor(host, port) {
    this.host = host;
    this.port = Number(port);
    this.hostHeader = `Host: ${host}:${port}\r\n`;
    this.socket = null;
    this.queue = []; // requests not yet answered; the first is on the wire
    this.head = null; // the answer being read: {status, headers, length}
    this.buf = null; // bytes before the end of the head
    this.chunks = [];
    this.have = 0;
  }

  request(method, urlPath, body, headers) {
    let head = `${method} /2018-06-01/runtime${urlPath} HTTP/1.1\r\n${this.hostHeader}`;
    if (headers !== undefined) {
      for (const name in headers) {
        const value = String(headers[name]);
        if (INVALID_HEADER_CHAR.test(value)) {
          const err = new TypeError(`Invalid character in header content ["${name}"]`);
          err.code = 'ERR_INVALID_CHAR';
          return Promise.reject(err);
        }
        head += `${name}: ${value}\r\n`;
      }
    }
    let data;
    if (body === undefined) {
      data = `${head}\r\n`;
    } else {
      head += `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`;
      // Header values travel as latin1, the body as UTF-8: one string when the head is ASCII.
      data = NON_ASCII.test(head)
        ? Buffer.concat([Buffer.from(head, 'latin1'), Buffer.from(body, 'utf8')])
        : head + body;
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ data, resolve, reject });
      if (this.queue.length === 1) this.send();
    });
  }

  send() {
    if (this.socket === null) this.connect();
    else this.socket.ref();
    this.socket.write(this.queue[0].data);
  }

  connect() {
    // Reads land in one buffer for the process's life and are copied out (small answers from
    // Buffer's pool) instead of a fresh 64 KiB allocation per read: ~10% of the CPU per
    // invocation. With onread the socket emits no 'data'.
    const socket = net.connect({
      host: this.host,
      port: this.port,
      onread: {
        buffer: readBuffer,
        callback: (n, buf) => {
          this.receive(Buffer.from(buf.subarray(0, n)));
        },
      },
    });
    socket.setNoDelay(true);
    socket.on('error', (err) => this.fail(socket, err));
    socket.on('close', () => this.fail(socket, null));
    this.socket = socket;
  }

  // The connection ended or broke: the request on the wire fails (as node's HTTP client fails
  // it: "socket hang up"); the next request opens a new connection.
  fail(socket, err) {
    if (this.socket !== socket) return;
    this.socket = null;
    this.head = this.buf = null;
    this.chunks = [];
    this.have = 0;
    socket.destroy();
    const request = this.queue.shift();
    if (request === undefined) return;
    if (err === null) {
      err = new Error('socket hang up');
      err.code = 'ECONNRESET';
    }
    request.reject(err);
    if (this.queue.length !== 0) this.send();
  }

  receive(chunk) {
    if (this.head === null) {
      const buf = this.buf === null ? chunk : Buffer.concat([this.buf, chunk]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) {
        this.buf = buf;
        return;
      }
      this.buf = null;
      this.head = this.parseHead(buf.latin1Slice(0, end));
      if (this.head === null) return;
      chunk = buf.subarray(end + 4);
    }
    if (chunk.length !== 0) {
      this.chunks.push(chunk);
      this.have += chunk.length;
    }
    const { length } = this.head;
    if (this.have < length) return;
    const all = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.have);
    const answer = this.head;
    this.head = null;
    this.chunks = [];
    this.have = 0;
    const request = this.queue.shift();
    if (request === undefined) return; // an answer nobody asked for: not the daemon's
    if (answer.close) {
      const socket = this.socket;
      this.socket = null;
      socket.destroy();
    }
    // (The daemon sends nothing unasked: bytes past this answer would be a broken peer.)
    if (this.queue.length !== 0) this.send();
    else this.socket?.unref(); // idle, as an agent's free socket: the event loop may drain
    request.resolve({ status: answer.status, headers: answer.headers, body: all.subarray(0, length) });
  }

  parseHead(text) {
    const lines = text.split('\r\n');
    const status = Number(lines[0].slice(9, 12));
    const headers = {};
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i];
      const colon = line.indexOf(':');
      if (colon <= 0) continue;
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
    }
    if (headers['transfer-encoding'] !== undefined) {
      // The daemon always answers with Content-Length; anything else is not its Runtime API.
      this.fail(this.socket, new Error(`runtime API answered with Transfer-Encoding: ${headers['transfer-encoding']}`));
      return null;
    }
    return {
      status,
      headers,
      length: Number(headers['content-length'] ?? 0),
      close: (headers.connection ?? '').toLowerCase() === 'close',
    };
  }
}
const readBuffer = Buffer.allocUnsafe(65536);
const client = new RuntimeClient(apiHost, apiPort);

function request(method, urlPath) {
  return client.request(method, urlPath, undefined, undefined);
}

async function post(urlPath, body, headers) {
  const res = await client.request('POST', urlPath, body, headers);
  if (res.status !== 202) {
    process.stderr.write(`runtime: POST ${urlPath} answered ${res.status}: ${res.body}\n`);
  }
}

class ExtendedError extends Error {
  constructor(reason) {
    super(reason);
    this.name = this.constructor.errorName;
  }
}
class ImportModuleError extends ExtendedError {
  static errorName = 'Runtime.ImportModuleError';
}
class HandlerNotFound extends ExtendedError {
  static errorName = 'Runtime.HandlerNotFound';
}
class MalformedHandlerName extends ExtendedError {
  static errorName = 'Runtime.MalformedHandlerName';
}
class UserCodeSyntaxError extends ExtendedError {
  static errorName = 'Runtime.UserCodeSyntaxError';
}

// AWS's error shape for the Runtime API: Node's runtime says `trace`, not `stackTrace`.
function errorObject(err) {
  if (err instanceof Error || util.types.isNativeError(err)) {
    return {
      errorType: err.name,
      errorMessage: err.message,
      trace: typeof err.stack === 'string' ? err.stack.split('\n') : [],
    };
  }
  return { errorType: typeof err, errorMessage: String(err), trace: [] };
}

// console.* as Lambda prints it: "<ISO time>\t<request id>\t<LEVEL>\t<message>", written
// synchronously so a line is never lost when the environment is frozen or killed.
let currentRequestId;
function patchConsole() {
  const levels = { log: 'INFO', info: 'INFO', warn: 'WARN', error: 'ERROR', debug: 'DEBUG', trace: 'TRACE' };
  for (const [method, level] of Object.entries(levels)) {
    console[method] = (...args) => {
      const message = util.format(...args).replace(/\n/g, '\r');
      fs.writeSync(1, `${new Date().toISOString()}\t${currentRequestId ?? 'undefined'}\t${level}\t${message}\n`);
    };
  }
}

function isModuleType(dir) {
  // The nearest package.json decides whether a .js file is an ES module.
  for (let d = dir; ; d = path.dirname(d)) {
    try {
      return JSON.parse(fs.readFileSync(path.join(d, 'package.json'), 'utf8')).type === 'module';
    } catch {
      // no package.json here, or not JSON: keep looking upwards
    }
    if (d === path.dirname(d) || d === path.dirname(taskRoot)) return false;
  }
}

// The module of "dir/file.export": file.js (CommonJS or ESM), file.mjs, file.cjs, or a node module.
async function loadModule(moduleRoot, name) {
  const base = path.resolve(taskRoot, moduleRoot, name);
  const exists = (p) => fs.existsSync(p);
  try {
    if (exists(`${base}.js`)) {
      return isModuleType(path.dirname(base))
        ? await import(pathToFileURL(`${base}.js`).href)
        : require(`${base}.js`);
    }
    if (exists(`${base}.mjs`)) return await import(pathToFileURL(`${base}.mjs`).href);
    if (exists(`${base}.cjs`)) return require(`${base}.cjs`);
    return require(require.resolve(name, { paths: [taskRoot, path.resolve(taskRoot, moduleRoot)] }));
  } catch (e) {
    if (e instanceof SyntaxError) throw new UserCodeSyntaxError(String(e));
    if (e && (e.code === 'MODULE_NOT_FOUND' || e.code === 'ERR_MODULE_NOT_FOUND')) {
      throw new ImportModuleError(String(e));
    }
    throw e;
  }
}

async function loadHandler(handlerString) {
  const moduleRoot = path.dirname(handlerString);
  const base = path.basename(handlerString);
  const dot = base.indexOf('.');
  if (dot <= 0 || dot === base.length - 1) throw new MalformedHandlerName('Bad handler');
  const app = await loadModule(moduleRoot, base.slice(0, dot));
  let fn = app;
  for (const key of base.slice(dot + 1).split('.')) fn = fn?.[key];
  if (typeof fn !== 'function') {
    throw new HandlerNotFound(`${handlerString} is undefined or not exported`);
  }
  return fn;
}

// Response streaming, as AWS's Node.js runtime offers it: `awslambda.streamifyResponse(handler)`
// marks a handler (event, responseStream, context) whose response is written to a stream that
// is posted to the Runtime API as it is written (chunked, response mode "streaming"), and
// `awslambda.HttpResponseStream.from(stream, {statusCode, headers, cookies})` puts the HTTP head
// a Function URL answers with before the body. Errors after the first byte travel as trailers.
const HANDLER_STREAMING = Symbol.for('aws.lambda.runtime.handler.streaming');
const HANDLER_HIGHWATERMARK = Symbol.for('aws.lambda.runtime.handler.streaming.highWaterMark');
const HTTP_INTEGRATION_RESPONSE = 'application/vnd.awslambda.http-integration-response';
globalThis.awslambda = {
  streamifyResponse(handler, options) {
    handler[HANDLER_STREAMING] = 'response';
    if (options?.highWaterMark !== undefined) handler[HANDLER_HIGHWATERMARK] = options.highWaterMark;
    return handler;
  },
  HttpResponseStream: class HttpResponseStream {
    static from(stream, prelude) {
      stream.setContentType(HTTP_INTEGRATION_RESPONSE);
      const head = JSON.stringify(prelude);
      stream._onBeforeFirstWrite = (write) => {
        write(head);
        write(new Uint8Array(8));
      };
      return stream;
    }
  },
};

let streamAgent; // one keep-alive connection for streamed responses, made when first needed
function openResponseStream(id, highWaterMark) {
  const http = require('node:http');
  streamAgent ??= new http.Agent({ keepAlive: true, maxSockets: 1 });
  let answered;
  const done = new Promise((resolve, reject) => {
    answered = { resolve, reject };
  });
  const req = http.request({
    host: apiHost,
    port: Number(apiPort),
    method: 'POST',
    path: `/2018-06-01/runtime/invocation/${encodeURIComponent(id)}/response`,
    agent: streamAgent,
    highWaterMark,
    headers: {
      'Lambda-Runtime-Function-Response-Mode': 'streaming',
      Trailer: 'Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body',
      'Content-Type': 'application/octet-stream',
    },
  }, (res) => {
    const chunks = [];
    res.on('data', (c) => chunks.push(c));
    res.on('end', () => {
      if (res.statusCode !== 202) {
        process.stderr.write(`runtime: streamed response answered ${res.statusCode}: ${Buffer.concat(chunks)}\n`);
      }
      answered.resolve();
    });
    res.on('error', answered.reject);
  });
  req.on('error', answered.reject);
  let written = false;
  const write = req.write.bind(req);
  req.write = (chunk, encoding, callback) => {
    if (typeof chunk !== 'string' && !Buffer.isBuffer(chunk) && !(chunk instanceof Uint8Array)) {
      chunk = JSON.stringify(chunk);
    }
    if (!written) {
      written = true;
      if (typeof req._onBeforeFirstWrite === 'function') req._onBeforeFirstWrite((c) => write(c));
    }
    return write(chunk, encoding, callback);
  };
  req.setContentType = (type) => {
    if (written) throw new Error('Cannot set content-type, too late.');
    req.setHeader('Content-Type', type);
  };
  // The handler failed: the error goes in the trailers, which end the body.
  const fail = (err) => {
    const error = errorObject(err);
    console.error(`Invoke Error \t${JSON.stringify(error)}`);
    if (req.writableEnded) return;
    req.addTrailers({
      'Lambda-Runtime-Function-Error-Type': error.errorType,
      'Lambda-Runtime-Function-Error-Body': Buffer.from(JSON.stringify(error)).toString('base64'),
    });
    req.end();
  };
  return { stream: req, done, fail };
}

async function runStreaming(handler, event, context, id) {
  const { stream, done, fail } = openResponseStream(id, handler[HANDLER_HIGHWATERMARK]);
  try {
    const returned = handler(event, stream, context);
    if (!returned || typeof returned.then !== 'function') {
      fail(new Error('Streaming does not support non-async handlers.'));
    } else {
      await returned;
      if (!stream.writableEnded) fail(new Error('Response stream is not finished.'));
    }
  } catch (err) {
    fail(err);
  }
  try {
    await done;
  } catch (err) {
    process.stderr.write(`runtime: streamed response: ${err?.message ?? err}\n`);
  }
}

function makeContext(headers) {
  const env = process.env;
  const deadline = Number(headers['lambda-runtime-deadline-ms'] || 0);
  const parse = (h) => (h ? JSON.parse(h) : undefined);
  return {
    callbackWaitsForEmptyEventLoop: true,
    awsRequestId: headers['lambda-runtime-aws-request-id'],
    functionName: env.AWS_LAMBDA_FUNCTION_NAME,
    functionVersion: env.AWS_LAMBDA_FUNCTION_VERSION,
    invokedFunctionArn: headers['lambda-runtime-invoked-function-arn'],
    memoryLimitInMB: env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    logGroupName: env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: env.AWS_LAMBDA_LOG_STREAM_NAME,
    clientContext: parse(headers['lambda-runtime-client-context']),
    identity: parse(headers['lambda-runtime-cognito-identity']),
    getRemainingTimeInMillis: () => Math.max(deadline - Date.now(), 0),
  };
}

// Runs one invocation; resolves to {error} or {result} once the handler has finished: its promise
// settled, or its callback was called and (unless the handler says otherwise) the event loop
// drained. A handler that does neither ends with null when the loop drains, as on Lambda.
// One 'beforeExit' listener for the process's life rather than one added and removed per
// invocation: it ends the invocation in flight, if any.
let onEmptyLoop = null;
process.on('beforeExit', () => onEmptyLoop?.());
function runHandler(handler, event, context) {
  return new Promise((resolve) => {
    let waiting = null; // a callback's outcome, held until the event loop is empty
    const emptyLoop = () => finish(waiting ?? { result: null });
    const finish = (outcome) => {
      if (onEmptyLoop === emptyLoop) onEmptyLoop = null; // a late callback leaves a newer one be
      resolve(outcome);
    };
    onEmptyLoop = emptyLoop;
    let called = false;
    const callback = (err, result) => {
      if (called) return;
      called = true;
      const outcome = err !== undefined && err !== null ? { error: err } : { result };
      if (context.callbackWaitsForEmptyEventLoop) waiting = outcome;
      else finish(outcome);
    };
    context.done = callback;
    context.succeed = (result) => callback(null, result);
    context.fail = (err) => callback(err ?? 'handled');
    try {
      const returned = handler(event, context, callback);
      if (returned && typeof returned.then === 'function') {
        returned.then(
          (result) => finish({ result }),
          (error) => finish({ error }),
        );
      }
    } catch (error) {
      finish({ error });
    }
  });
}

async function main() {
  patchConsole();
  let handler;
  try {
    handler = await loadHandler(process.env._HANDLER || '');
  } catch (err) {
    const error = errorObject(err);
    console.error(`${error.errorType}: ${error.errorMessage}`);
    await post('/init/error', JSON.stringify(error), {
      'Lambda-Runtime-Function-Error-Type': error.errorType,
    });
    process.exit(129);
  }
  for (;;) {
    if (dying) await forever;
    const next = await request('GET', '/invocation/next');
    if (next.status !== 200) {
      process.stderr.write(`runtime: /invocation/next answered ${next.status}: ${next.body}\n`);
      process.exit(1);
    }
    const id = next.headers['lambda-runtime-aws-request-id'];
    currentRequestId = id;
    answering = id;
    const trace = next.headers['lambda-runtime-trace-id'];
    if (trace) process.env._X_AMZN_TRACE_ID = trace;
    else delete process.env._X_AMZN_TRACE_ID;
    if (handler[HANDLER_STREAMING] === 'response') {
      try {
        const event = next.body.length ? JSON.parse(next.body.toString('utf8')) : null;
        await runStreaming(handler, event, makeContext(next.headers), id);
      } catch (error) {
        const body = errorObject(error);
        await post(`/invocation/${id}/error`, JSON.stringify(body), {
          'Lambda-Runtime-Function-Error-Type': body.errorType,
        });
      }
      answering = undefined;
      continue;
    }
    let outcome;
    try {
      const context = makeContext(next.headers);
      const event = next.body.length ? JSON.parse(next.body.toString('utf8')) : null;
      outcome = await runHandler(handler, event, context);
    } catch (error) {
      outcome = { error };
    }
    // An unhandled error is being reported as this invocation's answer and the process is about
    // to exit: neither answer twice nor take another event it would not live to run.
    if (dying) await forever;
    let body;
    if (!('error' in outcome)) {
      try {
        body = JSON.stringify(outcome.result === undefined ? null : outcome.result);
      } catch (error) {
        outcome = { error };
      }
    }
    if ('error' in outcome) {
      const error = errorObject(outcome.error);
      console.error(`Invoke Error \t${JSON.stringify(error)}`);
      await post(`/invocation/${id}/error`, JSON.stringify(error), {
        'Lambda-Runtime-Function-Error-Type': error.errorType,
      });
    } else {
      await post(`/invocation/${id}/response`, body);
    }
    answering = undefined;
  }
}

// An error nobody handled ends the environment, as on Lambda: it is first reported as the
// answer to the invocation in flight (or as the init error), then the process exits (128 for a
// rejection, 129 for an exception, as AWS's runtime does); the next invocation starts cold.
let answering; // the request id whose answer is not yet posted
let dying = false; // set once an unhandled error is being reported; the process then exits
const forever = new Promise(() => {});
async function reportFatal(error, status) {
  if (dying) return;
  dying = true;
  console.error(`${error.errorType}: ${error.errorMessage}`);
  const path = answering ? `/invocation/${answering}/error` : '/init/error';
  try {
    await post(path, JSON.stringify(error), { 'Lambda-Runtime-Function-Error-Type': error.errorType });
  } finally {
    process.exit(status);
  }
}
process.on('unhandledRejection', (reason) => {
  reportFatal({
    errorType: 'Runtime.UnhandledPromiseRejection',
    errorMessage: reason instanceof Error ? `${reason.name}: ${reason.message}` : String(reason),
    reason: errorObject(reason),
    promise: {},
    trace: typeof reason?.stack === 'string' ? reason.stack.split('\n') : [],
  }, 128);
});
process.on('uncaughtException', (err) => reportFatal(errorObject(err), 129));

main().catch((err) => {
  process.stderr.write(`runtime: ${err?.stack ?? err}\n`);
  process.exit(1);
});
