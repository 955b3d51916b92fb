// The web console end to end in headless Chromium (puppeteer-core), against a real daemon that
// tests/integration/daemon_console_test.cpp started. Exit status 0 when every step held.
// Environment: CONSOLE_URL (http://127.0.0.1:PORT/console/), ZIP_PATH (a shell function's zip),
// FOLDER_PATH (another as a folder, its bootstrap not executable on disk),
// ARTIFACTS (screenshot dir), PUPPETEER_DIR (holds node_modules/puppeteer-core), CHROMIUM,
// RUNTIMED_BIN (the CLI, for a bench run to open), and for a signed run ACCESS_KEY_ID and
// SECRET_ACCESS_KEY.
import { createRequire } from "node:module";
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";

const env = process.env;
const require = createRequire(path.join(env.PUPPETEER_DIR, "package.json"));
const puppeteer = require("puppeteer-core");
const signed = Boolean(env.ACCESS_KEY_ID);
const tag = signed ? "signed" : "open";
mkdirSync(env.ARTIFACTS, { recursive: true });

const problems = [];
let allowedHttpErrors = 0;
const fail = (message) => {
  throw new Error(message);
};
const check = (cond, message) => cond || fail(message);

const browser = await puppeteer.launch({
  executablePath: env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"],
});
const page = await browser.newPage();
await page.setViewport({ width: 1280, height: 900 });
page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
page.on("console", (m) => {
  if (m.type() !== "error") return;
  if (m.text().startsWith("Failed to load resource") && allowedHttpErrors > 0) {
    allowedHttpErrors--;
    return;
  }
  problems.push(`console.error: ${m.text()} ${m.location()?.url || ""}`);
});
page.on("dialog", (d) => d.accept());

const shot = (name) => page.screenshot({ path: path.join(env.ARTIFACTS, `${tag}-${name}.png`), fullPage: true });
const text = (selector) => page.$eval(selector, (e) => e.textContent);
const waitText = (selector, needle, timeout = 20000) =>
  page.waitForFunction(
    (s, n) => [...document.querySelectorAll(s)].some((e) => e.textContent.includes(n)),
    { timeout },
    selector,
    needle,
  );
const go = async (hash) => {
  await page.evaluate((h) => (location.hash = h), hash);
};
const step = (name) => console.log(`step: ${name}`);

try {
  step("open");
  await page.goto(env.CONSOLE_URL, { waitUntil: "networkidle0" });
  await page.waitForSelector("body[data-ready]");
  if (signed) {
    step("sign in");
    await page.waitForSelector("form.sign-in");
    await shot("sign-in");
    await page.type("input[name=accessKeyId]", env.ACCESS_KEY_ID);
    await page.type("input[name=secretAccessKey]", env.SECRET_ACCESS_KEY);
    await page.keyboard.press("Enter");
    await waitText("#account", env.ACCESS_KEY_ID);
  }
  await waitText("h1", "Functions");

  step("create from a zip");
  await page.click("a[href='#/create']");
  await page.waitForSelector("input[name=name]");
  await page.type("input[name=name]", "hello");
  await page.select("select[name=runtime]", "provided.al2023");
  await page.$eval("input[name=handler]", (e) => (e.value = "function.handler"));
  await page.$eval("input[name=timeout]", (e) => (e.value = "10"));
  await page.type("textarea[name=environment]", "GREETING=hi there");
  await (await page.$("input[name=zip]")).uploadFile(env.ZIP_PATH);
  await page.click("form button[type=submit]");
  await page.waitForFunction(() => location.hash === "#/functions/hello", { timeout: 20000 });
  await waitText("dl.summary", "GREETING=hi there");
  await shot("function");

  if (!signed) {
    step("an API error shown as it is");
    await go("#/create");
    await page.waitForSelector("input[name=name]");
    await page.type("input[name=name]", "hello");
    await (await page.$("input[name=zip]")).uploadFile(env.ZIP_PATH);
    allowedHttpErrors = 1;
    await page.click("form button[type=submit]");
    await waitText(".error", "ResourceConflictException");
    check((await text(".error")).includes("409"), "the conflict's status is shown");
    allowedHttpErrors = 0;
    await shot("create-conflict");
  }

  step("invoke: JSON checked before sending");
  await go("#/invoke/hello");
  await page.waitForSelector("textarea[name=payload]");
  await page.$eval("textarea[name=payload]", (e) => (e.value = ""));
  await page.type("textarea[name=payload]", '{"name": ');
  await waitText("#payload-check", "Not JSON");
  await page.click("form button[type=submit]");
  await new Promise((r) => setTimeout(r, 300));
  check((await page.$(".outcome")) === null, "invalid JSON was not sent");

  step("invoke: response and cold REPORT");
  await page.$eval("textarea[name=payload]", (e) => (e.value = ""));
  await page.type("textarea[name=payload]", '{"name":"Ada"}');
  await waitText("#payload-check", "Valid JSON");
  // Keyboard: Ctrl+Enter in the editor invokes.
  await page.focus("textarea[name=payload]");
  await page.keyboard.down("Control");
  await page.keyboard.press("Enter");
  await page.keyboard.up("Control");
  await page.waitForSelector(".outcome", { timeout: 30000 });
  const response = await text("pre.response");
  check(response.includes("Ada") && response.includes("hi there"), `response: ${response}`);
  await page.waitForSelector(".log-tail .log-report");
  check((await page.$(".log-tail .log-start")) !== null, "START line marked");
  check((await page.$(".log-tail mark.init-duration")) !== null, "Init Duration marked on a cold start");
  await shot("invoke-cold");

  step("invoke: forced error");
  await page.$eval("textarea[name=payload]", (e) => (e.value = ""));
  await page.type("textarea[name=payload]", '{"fail":true}');
  await page.click("form button[type=submit]");
  await waitText(".badge.function-error", "Unhandled");
  check((await text("pre.response")).includes("errorType"), "the function's error payload is shown");
  check((await text(".log-tail")).includes("failing on purpose"), "the error's log is in the tail");
  await shot("invoke-error");

  if (!signed) {
    step("logs: follow while invoking, filter, pause");
    await go("#/logs/hello");
    await waitText(".log-follow", "REPORT RequestId");
    await waitText(".follow-state", "following");
    const before = await page.$$eval(".log-follow .log-start", (l) => l.length);
    const invoked = await fetch(new URL("/2015-03-31/functions/hello/invocations", env.CONSOLE_URL), {
      method: "POST",
      body: '{"name":"followed"}',
    });
    const requestId = invoked.headers.get("x-amzn-RequestId");
    await waitText(".log-follow", `START RequestId: ${requestId}`);
    check((await page.$$eval(".log-follow .log-start", (l) => l.length)) === before + 1, "one new START");
    await page.type("input[name=filter]", requestId);
    const visible = await page.$$eval(".log-follow .log-line", (l) => l.filter((e) => !e.hidden).map((e) => e.textContent));
    check(visible.length >= 3 && visible.every((l) => l.includes(requestId)), `filtered: ${visible.join(" | ")}`);
    await page.click(".log-controls button[aria-pressed]");
    await waitText(".follow-state", "paused");
    await shot("logs");
  }

  if (!signed) {
    step("a 429 shown as sent, then counted as a throttle");
    const setReserved = (body) =>
      fetch(new URL("/2017-10-31/functions/hello/concurrency", env.CONSOLE_URL), {
        method: body ? "PUT" : "DELETE",
        body: body ? JSON.stringify(body) : undefined,
      });
    check((await setReserved({ ReservedConcurrentExecutions: 0 })).ok, "reserve 0");
    await go("#/invoke/hello");
    await page.waitForSelector("textarea[name=payload]");
    allowedHttpErrors = 1;
    await page.click("form button[type=submit]");
    await waitText(".error", "TooManyRequestsException");
    check((await text(".error")).includes("429"), "the throttle's status is shown");
    allowedHttpErrors = 0;
    await shot("invoke-throttled");
    check((await setReserved(null)).status === 204, "reservation removed");
  }

  step("metrics");
  await go("#/metrics");
  await page.waitForSelector("table.metrics tr[data-function=hello]", { timeout: 20000 });
  check((await page.$$(".chart canvas")).length === 3, "three charts drawn");
  const row = await text("table.metrics tr[data-function=hello]");
  check(/hello\s*\d/.test(row), `metrics row: ${row}`);
  await shot("metrics");
  if (!signed) {
    const throttles = await page.$$eval(".stat", (stats) =>
      stats.filter((s) => s.textContent.endsWith("throttles")).map((s) => s.querySelector(".stat-value").textContent),
    );
    check(throttles.length === 1 && Number(throttles[0]) >= 1, `throttles counted: ${throttles}`);
  }

  step("functions list with each function's environments, then 360 px wide");
  await go("#/functions");
  await page.waitForSelector("tr[data-function=hello]");
  // hello ran and is idle: one environment, warm or frozen, none busy.
  const envs = await text("tr[data-function=hello] td.environments");
  check(/^(1 \/ 0 \/ 0|0 \/ 0 \/ 1)$/.test(envs), `hello's environments (warm / busy / frozen): ${envs}`);
  await shot("functions");
  await page.setViewport({ width: 360, height: 740 });
  for (const hash of ["#/functions", "#/invoke/hello", "#/functions/hello", "#/bench"]) {
    await go(hash);
    await new Promise((r) => setTimeout(r, 500));
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    check(width <= 360, `${hash} is ${width} px wide at 360`);
  }
  await shot("narrow-function");
  await page.setViewport({ width: 1280, height: 900 });

  if (!signed) {
    step("async: a dead letter read and redriven");
    const api = (p, init) => fetch(new URL(p, env.CONSOLE_URL), init);
    const zip = (await import("node:fs")).readFileSync(env.ZIP_PATH).toString("base64");
    const created = await api("/2015-03-31/functions", {
      method: "POST",
      body: JSON.stringify({
        FunctionName: "dlq",
        Runtime: "provided.al2023",
        Role: "arn:aws:iam::000000000000:role/test",
        Handler: "function.handler",
        DeadLetterConfig: { TargetArn: "arn:aws:sqs:us-east-1:000000000000:console-dlq" },
        Code: { ZipFile: zip },
      }),
    });
    check(created.status === 201, `create dlq: ${created.status} ${await created.text()}`);
    const retries = await api("/2019-09-25/functions/dlq/event-invoke-config", {
      method: "PUT",
      body: JSON.stringify({ MaximumRetryAttempts: 0 }),
    });
    check(retries.ok, `event invoke config: ${retries.status}`);
    const queued = await api("/2015-03-31/functions/dlq/invocations", {
      method: "POST",
      headers: { "X-Amz-Invocation-Type": "Event" },
      body: '{"fail":"to the dlq"}',
    });
    check(queued.status === 202, `Event: ${queued.status}`);
    await go("#/async");
    for (let i = 0; i < 40 && !(await page.$("tr[data-queue=console-dlq]")); i++) {
      await new Promise((r) => setTimeout(r, 250));
      await page.click(".page-head button");
    }
    await waitText("tr[data-queue=console-dlq] td.num", "1");
    // The last Refresh may still be loading: its answer replaces the table, and a button found
    // before that is detached when clicked. Refresh is aria-busy until its table is in place.
    await page.waitForSelector(".page-head button:not([aria-busy])");
    await page.click("tr[data-queue=console-dlq] .row-actions button");
    await waitText(".messages", "to the dlq");
    await shot("async-dlq");
    await page.click("tr[data-queue=console-dlq] button[title^=Turn]");
    await waitText("#status", "Redrove 1 message(s)");
  }

  if (!signed) {
    step("bench: a saved run opened with its charts");
    const saved = path.join(env.ARTIFACTS, "bench-run.json");
    execFileSync(env.RUNTIMED_BIN, [
      "bench", "warm", "--function", "hello", "--count", "20",
      "--endpoint", new URL(env.CONSOLE_URL).origin, "--json", saved,
    ], { stdio: ["ignore", "ignore", "inherit"], timeout: 60000 });
    await go("#/bench");
    await page.waitForSelector("input[name=run]");
    await (await page.$("input[name=run]")).uploadFile(saved);
    await page.click("form button[type=submit]");
    await waitText(".bench-report h1", "runtimed bench warm: hello");
    const charts = await page.$$eval(".bench-report svg", (l) => l.length);
    check(charts >= 2, `bench charts drawn: ${charts}`);
    check((await text(".bench-report")).includes("Latency CDF"), "the CDF chart is the report's");
    await shot("bench");
    await page.setViewport({ width: 360, height: 740 });
    await new Promise((r) => setTimeout(r, 300));
    const narrow = await page.evaluate(() => document.documentElement.scrollWidth);
    check(narrow <= 360, `the bench report is ${narrow} px wide at 360`);
    await shot("bench-narrow");
    await page.setViewport({ width: 1280, height: 900 });
    step("bench: a file that is not a run says why");
    const notRun = path.join(env.ARTIFACTS, "not-a-run.json");
    writeFileSync(notRun, '{"hello": 1}');
    await (await page.$("input[name=run]")).uploadFile(notRun);
    allowedHttpErrors = 1;
    await page.click("form button[type=submit]");
    await waitText(".error", "Cannot draw this bench run");
    check((await text(".error")).includes("400 InvalidRequestContentException"), "the error as sent");
    allowedHttpErrors = 0;
  }

  if (!signed) {
    step("code from a folder, zipped in the browser");
    await go("#/functions/hello");
    await page.waitForSelector("form[aria-label=Code] input[name=folder]");
    await (await page.$("form[aria-label=Code] input[name=folder]")).uploadFile(env.FOLDER_PATH);
    await page.click("form[aria-label=Code] button[type=submit]");
    await waitText("#status", "Uploaded new code for hello");
    const answer = await fetch(new URL("/2015-03-31/functions/hello/invocations", env.CONSOLE_URL), {
      method: "POST",
      body: "{}",
    });
    const body = await answer.text();
    check(answer.status === 200 && body === '{"from":"a folder"}', `the folder's code ran: ${answer.status} ${body}`);
  }

  step("update configuration");
  await go("#/functions/hello");
  await page.waitForSelector("input[name=memory]");
  await page.$eval("form[aria-label=Configuration] input[name=memory]", (e) => (e.value = "256"));
  await page.click("form[aria-label=Configuration] button[type=submit]");
  await waitText("dl.summary", "256 MB");

  step("delete");
  await page.click(".danger-zone button");
  await page.waitForFunction(() => location.hash === "#/functions", { timeout: 20000 });
  await page.waitForFunction(() => !document.querySelector("tr[data-function=hello]") && document.querySelector("main p.empty, main table"), { timeout: 20000 });
  await shot("deleted");
} catch (e) {
  problems.push(`step failed: ${e.message}`);
  await shot("failure").catch(() => {});
} finally {
  await browser.close();
}
if (problems.length) {
  console.error(problems.join("\n"));
  process.exit(1);
}
console.log(`console e2e (${tag}): ok`);
