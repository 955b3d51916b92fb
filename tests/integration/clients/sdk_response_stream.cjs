// AWS's JavaScript SDK v3 (@aws-sdk/client-lambda) against a running runtimed:
// InvokeWithResponseStream's events arrive while the function still runs, errors end the stream
// in InvokeComplete, and a plain Invoke gets the whole response. (Debian's boto3 1.26 predates
// InvokeWithResponseStream; a newer botocore reads the same stream, checked by hand.)
//
// node sdk_response_stream.cjs SDK_DIR ENDPOINT FUNCTION KIND, where SDK_DIR is what
// scripts/install-aws-sdk-js.sh printed and KIND says what the function is:
//   c     tests/functions/c_runtime.c (the event's "action":"stream" streams raw chunks);
//   node  a streamifyResponse handler (the tests' stream.js), on runtimed's Node runtime or the RIC.
// Exits 0 after every check passed ("ok"); a failed assertion or an SDK error says what did not.
'use strict';
const assert = require('node:assert/strict');
const path = require('node:path');

const [sdkDir, endpoint, fn, kind] = process.argv.slice(2);
const {
  LambdaClient,
  InvokeCommand,
  InvokeWithResponseStreamCommand,
} = require(path.join(sdkDir, 'node_modules/@aws-sdk/client-lambda'));

const client = new LambdaClient({
  endpoint,
  region: 'us-east-1',
  credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  maxAttempts: 1, // a 429 or 5xx reaches the test, never retried away
});
const text = (bytes) => Buffer.from(bytes).toString('utf8');

function streamArgs(chunks, ms = 0, fail = false) {
  if (kind === 'c') return { action: 'stream', chunks, ms, fail: fail ? 1 : 0 };
  return { chunks, ms, ...(fail ? { fail: true } : {}) };
}
const chunkText = (i) => (kind === 'c' ? `chunk ${i}\n` : `chunk ${i} of ${fn}\n`);
const chunksText = (n) => Array.from({ length: n }, (_, i) => chunkText(i)).join('');

// Invokes; returns the response, its events with the seconds since the call, and the call's time.
async function stream(payload, extra = {}) {
  const started = performance.now();
  const seconds = () => (performance.now() - started) / 1000;
  const response = await client.send(new InvokeWithResponseStreamCommand({
    FunctionName: fn,
    Payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
    ...extra,
  }));
  const events = [];
  for await (const event of response.EventStream) events.push({ at: seconds(), event });
  return { response, events, took: seconds() };
}
const payloadOf = (events) =>
  events.filter((e) => e.event.PayloadChunk).map((e) => text(e.event.PayloadChunk.Payload)).join('');
const completeOf = (events) => events[events.length - 1].event.InvokeComplete;

async function expectError(name, call) {
  try {
    await call();
  } catch (err) {
    assert.equal(err.name, name, `${err.name}: ${err.message}`);
    return err;
  }
  assert.fail(`expected ${name}`);
}

async function main() {
  await stream(streamArgs(1)); // warm: the timing below is the stream's, not a cold start's

  // Four chunks 400 ms apart: the first arrives long before the function ends (~1.2 s).
  let { response, events, took } = await stream(streamArgs(4, 400), { LogType: 'Tail' });
  assert.equal(response.StatusCode, 200);
  assert.equal(response.ResponseStreamContentType, 'application/vnd.amazon.eventstream');
  assert.equal(response.ExecutedVersion, '$LATEST');
  assert.equal(payloadOf(events), chunksText(4));
  const chunks = events.filter((e) => e.event.PayloadChunk);
  const firstByte = chunks[0].at;
  assert.ok(took >= 1.1, `the stream took ${took} s`);
  assert.ok(firstByte < 0.6, `the first chunk took ${firstByte} s of ${took} s`);
  assert.ok(chunks[chunks.length - 1].at - firstByte >= 1.0, JSON.stringify(chunks));
  let complete = completeOf(events);
  assert.equal(complete.ErrorCode, undefined, JSON.stringify(complete));
  const log = Buffer.from(complete.LogResult, 'base64').toString();
  assert.ok(log.includes('START RequestId:') && log.includes('REPORT RequestId:'), log);
  console.log(`first chunk after ${(firstByte * 1000).toFixed(0)} ms, ` +
              `the stream ended after ${(took * 1000).toFixed(0)} ms`);

  // An error after the first bytes: the chunks so far, then InvokeComplete naming it.
  ({ events } = await stream(streamArgs(2, 0, true)));
  assert.equal(payloadOf(events), chunksText(2));
  complete = completeOf(events);
  assert.equal(complete.ErrorCode, kind === 'c' ? 'StreamError' : 'Error');
  assert.equal(complete.ErrorDetails, kind === 'c' ? 'stream broke' : 'the stream broke');

  // A plain Invoke of the same function gets the stream gathered into one response.
  const whole = await client.send(new InvokeCommand({
    FunctionName: fn, Payload: JSON.stringify(streamArgs(3)),
  }));
  assert.equal(whole.FunctionError, undefined);
  assert.equal(text(whole.Payload), chunksText(3));
  const failed = await client.send(new InvokeCommand({
    FunctionName: fn, Payload: JSON.stringify(streamArgs(1, 0, true)),
  }));
  assert.equal(failed.FunctionError, 'Unhandled');
  assert.match(JSON.parse(text(failed.Payload)).errorMessage, /stream broke/);

  if (kind === 'c') {
    // A function that answers whole: one PayloadChunk, then InvokeComplete.
    ({ events } = await stream({ action: 'echo', n: 1 }));
    assert.deepEqual(events.map((e) => Object.keys(e.event)[0]), ['PayloadChunk', 'InvokeComplete']);
    assert.deepEqual(JSON.parse(payloadOf(events)), { action: 'echo', n: 1 });
    ({ events } = await stream({ action: 'error' }));
    assert.equal(completeOf(events).ErrorCode, 'TestError');
    // The function's timeout mid-stream (its Timeout is 2 s): the chunks so far, then Sandbox.Timedout.
    ({ events } = await stream(streamArgs(20, 300)));
    assert.equal(completeOf(events).ErrorCode, 'Sandbox.Timedout');
    const sent = events.filter((e) => e.event.PayloadChunk).length;
    assert.ok(sent >= 3 && sent <= 8, `${sent} chunks before the timeout`);
    // DryRun and refusals answer as Invoke does.
    ({ response } = await stream('{}', { InvocationType: 'DryRun' }));
    assert.equal(response.StatusCode, 204);
    const refused = await expectError('InvalidParameterValueException', () =>
      stream('{}', { InvocationType: 'Event' }));
    assert.match(refused.message, /invocationType/);
    await expectError('ResourceNotFoundException', () => client.send(
      new InvokeWithResponseStreamCommand({ FunctionName: 'no-such-function', Payload: '{}' })));
  }
  console.log('ok');
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
