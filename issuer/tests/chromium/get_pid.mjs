// Drives headless Chromium through the "Get your PID" page over the DevTools protocol (Node 20
// with --experimental-websocket; no npm package): open /pid, press "Log in with MitID", type the
// test user on the embedded MitID form and submit, and read the offer page. The pages themselves
// run no JavaScript; only this driver does. Prints one JSON object:
// {"offer": <offer link>, "tx_code": <code>, "has_qr": bool, "title": <h1>}.
// Usage: node --experimental-websocket get_pid.mjs CHROMIUM BASE_URL USER
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const [chromium, base, user] = process.argv.slice(2);
const profile = mkdtempSync(join(tmpdir(), "eudi-chromium-"));
const browser = spawn(chromium, [
  "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
  "--remote-debugging-port=0", `--user-data-dir=${profile}`, "about:blank",
], { stdio: ["ignore", "ignore", "pipe"] });

const fail = (message) => {
  console.error(message);
  browser.kill("SIGKILL");
  process.exit(1);
};
setTimeout(() => fail("timed out"), 60_000).unref();

const wsUrl = await new Promise((resolve) => {
  let buffered = "";
  browser.stderr.on("data", (chunk) => {
    buffered += chunk;
    const match = buffered.match(/DevTools listening on (ws:\/\/\S+)/);
    if (match) resolve(match[1]);
  });
});

const socket = new WebSocket(wsUrl);
await new Promise((resolve, reject) => {
  socket.onopen = resolve;
  socket.onerror = reject;
});
let nextId = 1;
const waiting = new Map();
socket.onmessage = (event) => {
  const message = JSON.parse(event.data);
  if (message.id && waiting.has(message.id)) {
    const { resolve, reject } = waiting.get(message.id);
    waiting.delete(message.id);
    if (message.error) reject(new Error(JSON.stringify(message.error)));
    else resolve(message.result);
  }
};
const send = (method, params = {}, sessionId = undefined) =>
  new Promise((resolve, reject) => {
    const id = nextId++;
    waiting.set(id, { resolve, reject });
    socket.send(JSON.stringify({ id, method, params, sessionId }));
  });

const { targetId } = await send("Target.createTarget", { url: "about:blank" });
const { sessionId } = await send("Target.attachToTarget", { targetId, flatten: true });
const evaluate = async (expression) =>
  (await send("Runtime.evaluate", { expression, returnByValue: true }, sessionId)).result.value;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const waitFor = async (predicate, what) => {
  for (let i = 0; i < 200; i++) {
    try {
      if (await evaluate(predicate)) return;
    } catch (_) {
      // The page is navigating; ask again.
    }
    await sleep(100);
  }
  fail(`never reached: ${what}`);
};

await send("Page.navigate", { url: `${base}/pid?lang=en` }, sessionId);
await waitFor("document.readyState === 'complete' && !!document.getElementById('login')", "the PID page");
await evaluate("document.getElementById('login').click()");
await waitFor("document.readyState === 'complete' && !!document.getElementById('username')", "the MitID form");
await evaluate(`(() => { const u = document.getElementById('username'); u.value = ${JSON.stringify(user)}; u.form.submit(); })()`);
await waitFor("document.readyState === 'complete' && (!!document.getElementById('tx-code') || !!document.getElementById('transaction-id'))", "the offer page");
const result = await evaluate(`JSON.stringify({
  offer: document.getElementById('offer-link') ? document.getElementById('offer-link').getAttribute('href') : null,
  tx_code: document.getElementById('tx-code') ? document.getElementById('tx-code').textContent : null,
  has_qr: !!document.querySelector('#qr svg') && !!document.querySelector('#qr-png'),
  title: document.querySelector('h1').textContent,
})`);
console.log(result);
socket.close();
const exited = new Promise((resolve) => browser.once("exit", resolve));
browser.kill("SIGKILL");
await exited;
try {
  rmSync(profile, { recursive: true, force: true });
} catch (_) {
  // A profile left in the temporary directory harms nothing.
}
process.exit(0);
