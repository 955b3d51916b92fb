// runtimed's Node.js runtime: loads the function's handler once, then serves the Lambda Runtime API.
// Built-in modules only. Error objects, messages and log lines follow AWS's own Node.js runtime
// (aws-lambda-nodejs-runtime-interface-client) so functions and callers see what Lambda shows.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import util from 'node:util';

const [apiHost, apiPort] = process.env.AWS_LAMBDA_RUNTIME_API.split(':');
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const taskRoot = process.env.LAMBDA_TASK_ROOT || '/var/task';
const require = createRequire(import.meta.url);

// One Runtime API request on the keep-alive connection; resolves to {status, headers, body}.
function request(method, urlPath, body, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: apiHost, port: apiPort, method, agent, path: `/2018-06-01/runtime${urlPath}`, headers },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function post(urlPath, body, headers = {}) {
  const data = Buffer.from(body);
  const res = await request('POST', urlPath, data, {
    'Content-Type': 'application/json',
    'Content-Length': data.length,
    ...headers,
  });
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
function runHandler(handler, event, context) {
  return new Promise((resolve) => {
    let waiting = null; // a callback's outcome, held until the event loop is empty
    const onEmptyLoop = () => finish(waiting ?? { result: null });
    const finish = (outcome) => {
      process.removeListener('beforeExit', onEmptyLoop);
      resolve(outcome);
    };
    process.once('beforeExit', onEmptyLoop);
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
