// Browser tests: Playwright (playwright-core) driving Debian's Chromium against a running Rehearse.
//   BASE_URL=http://127.0.0.1:PORT node tests/browser/run.mjs
// Screenshots go to artifacts/screenshots/ (git-ignored). Ends with "N passed, M failed"; exits 1 on a failure.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const BASE = process.env.BASE_URL || "http://127.0.0.1:8080";
const SHOTS = new URL("../../artifacts/screenshots/", import.meta.url).pathname;
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const FLAGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
];
mkdirSync(SHOTS, { recursive: true });

const tests = [];
const test = (name, fn) => tests.push({ name, fn });
const assert = (cond, msg) => { if (!cond) throw new Error(msg); };

async function launch(extra = []) {
  return chromium.launch({ executablePath: CHROMIUM, args: [...FLAGS, ...extra], headless: true });
}

async function shoot(page, name) {
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: SHOTS + name + ".png", fullPage: true });
}

test("the company grid leads to the Amazon briefing with its round cards", async (browser) => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const role = await (await fetch(BASE + "/api/v1/companies/amazon/roles/sde-ii")).json();
  await page.goto(BASE + "/interview-prep");
  const cards = await page.locator(".company-card").count();
  assert(cards >= 8, `expected at least 8 company cards, found ${cards}`);
  await shoot(page, "companies-desktop");
  await page.click('a.company-card[href="/interview-prep/amazon"]');
  await page.waitForURL("**/interview-prep/amazon");
  await shoot(page, "company-amazon-desktop");
  await page.click('a.role-card[href="/interview-prep/amazon/sde-ii"]');
  await page.waitForURL("**/interview-prep/amazon/sde-ii");
  const rounds = page.locator("li.round-card");
  assert((await rounds.count()) === role.rounds.length, `expected ${role.rounds.length} round cards`);
  for (let i = 0; i < role.rounds.length; i++) {
    const card = rounds.nth(i);
    const title = (await card.locator("h3").innerText()).trim();
    assert(title === role.rounds[i].title, `round ${i}: ${title} != ${role.rounds[i].title}`);
    const duration = (await card.locator(".duration").innerText()).trim();
    assert(/\d+ (min|h)/.test(duration), `round ${i} shows no duration: ${duration}`);
  }
  assert(await page.locator(".badge", { hasText: "Bar raiser" }).count() > 0, "no Bar Raiser round shown");
  await shoot(page, "briefing-amazon-desktop");
  await page.close();
});

test("pages fit a 390 px wide phone without sideways scrolling", async (browser) => {
  const page = await browser.newPage({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  for (const [path, name] of [["/", "home"], ["/interview-prep", "companies"], ["/interview-prep/amazon", "company-amazon"],
                              ["/interview-prep/amazon/sde-ii", "briefing-amazon"], ["/interview-prep/nope", "not-found"]]) {
    await page.goto(BASE + path);
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    assert(width <= 390, `${path} is ${width}px wide at 390px`);
    await shoot(page, name + "-mobile");
  }
  await page.close();
});

test("the microphone test shows a live level and plays a recording back", async (browser) => {
  const page = await browser.newPage();
  await page.goto(BASE + "/interview-prep/amazon/sde-ii");
  await page.click('#mic-test [data-action="enable"]');
  await page.waitForSelector('#mic-test[data-state="live"]', { timeout: 10000 });
  await page.waitForFunction(() => Number(document.querySelector("#mic-test .meter").getAttribute("aria-valuenow")) > 0,
    null, { timeout: 5000 });
  await page.click('#mic-test [data-action="record"]');
  await page.waitForSelector('#mic-test[data-state="recorded"]', { timeout: 10000 });
  const src = await page.getAttribute("#mic-test audio.playback", "src");
  assert(src && src.startsWith("blob:"), "no recording to play back");
  await shoot(page, "briefing-mic-test");
  await page.close();
});

test("a denied microphone gets a clear message", async () => {
  const browser = await launch(["--deny-permission-prompts"]);
  try {
    const page = await browser.newPage();
    await page.goto(BASE + "/interview-prep/amazon/sde-ii");
    await page.click('#mic-test [data-action="enable"]');
    await page.waitForSelector('#mic-test[data-state="denied"], #mic-test[data-state="no-device"]', { timeout: 10000 });
    const text = await page.locator("#mic-test .mic-status").innerText();
    assert(/denied|No microphone/.test(text), `unclear message: ${text}`);
  } finally {
    await browser.close();
  }
});

test("the browser's protobuf codec agrees with prost byte for byte", async (browser) => {
  // The test loads its checker from a blob: URL, which the app's CSP rightly forbids; only this page bypasses it.
  const context = await browser.newContext({ bypassCSP: true });
  const page = await context.newPage();
  await page.goto(BASE + "/");
  const frames = JSON.parse(readFileSync(new URL("../js/frames.json", import.meta.url), "utf8"));
  const checker = readFileSync(new URL("../js/frames_check.mjs", import.meta.url), "utf8");
  const failures = await page.evaluate(async ({ checker, frames }) => {
    const { Codec } = await import("/static/js/proto.js");
    const { schema } = await import("/static/js/realtime-schema.js");
    const url = URL.createObjectURL(new Blob([checker], { type: "text/javascript" }));
    const { checkFrames } = await import(url);
    return checkFrames(Codec, schema, frames);
  }, { checker, frames });
  assert(failures.length === 0, failures.join("\n"));
  await context.close();
});

test("a new user signs up, sees their credits, starts an interview and finds it in history", async (browser) => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const email = `grace.${Date.now()}@example.com`;
  await page.goto(BASE + "/signup?next=/interview-prep/amazon/sde-ii");
  await shoot(page, "signup-desktop");
  await page.fill("#name", "Grace Hopper");
  await page.fill("#email", email);
  await page.fill("#password", "correct horse battery");
  await Promise.all([page.waitForURL("**/interview-prep/amazon/sde-ii"), page.click("button[type=submit]")]);
  const credits = (await page.locator(".credits-count").innerText()).trim();
  assert(credits === "10", `a new account shows 10 credits, not ${credits}`);
  await shoot(page, "briefing-signed-in-desktop");
  await Promise.all([page.waitForURL("**/interview-prep/session/**"), page.click("#start")]);
  const sessionUrl = page.url();
  await page.click("#begin");
  assert((await page.locator(".credits-count").innerText()).trim() === "9", "starting cost one credit");
  await page.waitForSelector('#transcript li.interviewer[data-final="true"]', { timeout: 10000 });
  await shoot(page, "session-live-desktop");
  await page.goto(BASE + "/interview-prep/history");
  const link = page.locator(`a[href="${new URL(sessionUrl).pathname}"]`);
  assert(await link.count() === 1, "the interview is in history");
  await shoot(page, "history-desktop");
  await page.goto(BASE + "/profile");
  assert((await page.locator(".balance strong").innerText()).trim() === "9", "the profile shows the balance");
  await shoot(page, "profile-desktop");
  await page.setViewportSize({ width: 390, height: 844 });
  for (const [path, name] of [["/interview-prep/history", "history"], ["/profile", "profile"], [new URL(sessionUrl).pathname, "session"]]) {
    await page.goto(BASE + path);
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    assert(width <= 390, `${path} is ${width}px wide at 390px`);
    await shoot(page, name + "-mobile");
  }
  await context.close();
});

test("signing out in another tab ends the live interview's connection and the page asks to sign in", async (browser) => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  await page.goto(BASE + "/signup?next=/interview-prep/amazon/sde-ii");
  await page.fill("#email", `tabs.${Date.now()}@example.com`);
  await page.fill("#password", "correct horse battery");
  await Promise.all([page.waitForURL("**/interview-prep/amazon/sde-ii"), page.click("button[type=submit]")]);
  await Promise.all([page.waitForURL("**/interview-prep/session/**"), page.click("#start")]);
  await page.click("#begin");
  await page.waitForSelector('#transcript li.interviewer[data-final="true"]', { timeout: 10000 });
  assert((await page.locator("#conn").getAttribute("data-state")) === "open", "connected");
  const other = await context.newPage();
  await other.goto(BASE + "/profile");
  await Promise.all([other.waitForURL((u) => !u.pathname.startsWith("/profile")), other.click('form[action="/logout"] button')]);
  // The interview's socket closes, and the page, reloaded, is the sign-in page: no endless "reconnecting".
  await page.waitForURL("**/login**", { timeout: 15000 });
  await shoot(page, "live-after-logout-elsewhere");
  await context.close();
});

test("a candidate chooses the problem of a coding round on the briefing and is asked it", async (browser) => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  await page.goto(BASE + "/signup?next=/interview-prep/google/swe-l5");
  await page.fill("#email", `choose.${Date.now()}@example.com`);
  await page.fill("#password", "correct horse battery");
  await Promise.all([page.waitForURL("**/interview-prep/google/swe-l5"), page.click("button[type=submit]")]);
  const choice = page.locator('select[name^="question-"]').first();
  const round = (await choice.getAttribute("name")).slice("question-".length);
  await choice.selectOption("coin-change");
  // Only that round is practised.
  for (const box of await page.locator('input[name="rounds"]').all()) {
    if ((await box.getAttribute("value")) !== round) await box.uncheck();
  }
  await choice.scrollIntoViewIfNeeded();
  await page.screenshot({ path: SHOTS + "briefing-question-choice.png" });
  await Promise.all([page.waitForURL("**/interview-prep/session/**"), page.click("#start")]);
  await page.click("#begin");
  await page.waitForSelector('#transcript li.interviewer[data-final="true"]', { timeout: 10000 });
  const opening = await page.locator('#transcript li.interviewer[data-final="true"]').first().innerText();
  assert(opening.includes("Coin Change"), `the chosen problem is asked: ${opening}`);
  await context.close();
});

test("a whole text interview runs in the live page, survives going offline, and ends COMPLETED", async (browser) => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.on("dialog", (d) => d.accept());
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  // A script or connection the Content-Security-Policy blocks would break the page quietly: none may be.
  page.on("console", (m) => { if (/Content Security Policy/i.test(m.text())) errors.push(m.text()); });
  await page.goto(BASE + "/signup?next=/interview-prep/amazon/sde-ii");
  await page.fill("#email", `live.${Date.now()}@example.com`);
  await page.fill("#password", "correct horse battery");
  await Promise.all([page.waitForURL("**/interview-prep/amazon/sde-ii"), page.click("button[type=submit]")]);
  await Promise.all([page.waitForURL("**/interview-prep/session/**"), page.click("#start")]);
  const sessionPath = new URL(page.url()).pathname;
  await shoot(page, "lobby-desktop");
  await page.click("#begin");
  const finals = () => page.locator('#transcript li.interviewer[data-final="true"]').count();
  await page.waitForFunction(() => document.querySelectorAll('#transcript li.interviewer[data-final="true"]').length >= 1);
  assert((await page.locator("#conn").getAttribute("data-state")) === "open", "connected");
  const story = "I owned the migration of our billing service when the deadline moved up by two weeks. I split the work into three streams, wrote the runbook myself, and we shipped on time with zero data loss.";
  await page.fill("#answer", story);
  await page.press("#answer", "Enter");
  await page.waitForFunction(() => document.querySelectorAll('#transcript li.interviewer[data-final="true"]').length >= 2);
  const followUp = await page.locator('#transcript li.interviewer[data-final="true"]').nth(1).innerText();
  assert(/You said|You mentioned|Going back to/.test(followUp), `the follow-up is grounded in the answer: ${followUp}`);
  await shoot(page, "live-desktop");

  // The connection drops (a reload while the server cannot be reached): an answer sent meanwhile waits, then
  // goes through once the connection is back, stored once.
  await page.route("**/realtime-token", (route) => route.abort());
  await page.reload();
  await page.waitForFunction(() => document.querySelector("#conn").dataset.state === "retrying", null, { timeout: 10000 });
  await page.fill("#answer", "Success meant zero failed payments during the cutover, which I tracked on a dashboard I built for it.");
  await page.press("#answer", "Enter");
  assert((await page.locator("#pending").innerText()).includes("waiting"), "the unsent answer is kept");
  await page.unroute("**/realtime-token");
  await page.waitForFunction(() => document.querySelector("#pending").textContent === "", null, { timeout: 20000 });
  // The interviewer answers it: the last turn is the interviewer's, right after this answer.
  await page.waitForFunction(() => {
    const turns = [...document.querySelectorAll("#transcript li")];
    const i = turns.findIndex((t) => t.textContent.includes("zero failed payments"));
    return i >= 0 && turns.length > i + 1 && turns[i + 1].classList.contains("interviewer") && turns[i + 1].dataset.final === "true";
  }, null, { timeout: 20000 });

  // The interviewer's voice: turned on, the next turn is spoken (audio frames arrive and are scheduled).
  assert(await page.locator("#voice-toggle").isVisible(), "the server has a voice, so the page offers it");
  await page.check("#voice");
  // The choice is remembered; a reload starts a connection that asks for audio.
  await page.reload();
  await page.waitForFunction(() => document.querySelector("#conn").dataset.state === "open" && document.querySelector("#voice").checked, null, { timeout: 15000 });
  await page.click('[data-control="ACTION_REPEAT_QUESTION"]');
  await page.waitForFunction(() => Number(document.querySelector("#voice").dataset.played || 0) > 3, null, { timeout: 30000 });
  await page.uncheck("#voice");
  await page.reload();
  await page.waitForFunction(() => document.querySelector("#conn").dataset.state === "open" && !document.querySelector("#voice").checked, null, { timeout: 15000 });

  // Skip through the remaining rounds, then end the interview.
  for (let i = 0; i < 6; i++) {
    const n = await finals();
    await page.click('[data-control="ACTION_NEXT_ROUND"]');
    await page.waitForFunction((n) => document.querySelectorAll('#transcript li.interviewer[data-final="true"]').length > n, n);
  }
  await page.setViewportSize({ width: 390, height: 844 });
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert(width <= 390, `the live page is ${width}px wide at 390px`);
  await shoot(page, "live-mobile");
  await page.setViewportSize({ width: 1280, height: 900 });
  // Ending the interview leads to its results: scored (by the rule-based judge here), with evidence and charts.
  await Promise.all([page.waitForURL("**" + sessionPath + "/results", { waitUntil: "load" }), page.click('[data-control="ACTION_END"]')]);
  await page.waitForSelector(".verdict .recommendation", { timeout: 20000 });
  const verdict = await page.locator(".verdict .recommendation").innerText();
  assert(/hire/i.test(verdict), `a recommendation is shown: ${verdict}`);
  assert(await page.locator(".round-report").count() >= 2, "a section per round");
  assert(await page.locator("svg.chart").count() >= 2, "charts drawn on the server");
  await shoot(page, "results-desktop");
  const quotes = await page.locator("blockquote.evidence.from-candidate").allInnerTexts();
  if (!quotes.length) console.log(await (await page.request.get(page.url().replace("/interview-prep/session/", "/api/v1/sessions/").replace("/results", "/report"))).text());
  assert(quotes.length > 0 && quotes.some((q) => story.includes(q.trim()) || q.includes("zero failed payments")), `evidence quotes the answers: ${quotes[0]}`);
  const md = await page.evaluate(async (href) => (await fetch(href)).text(), await page.locator("a", { hasText: "Download Markdown" }).getAttribute("href"));
  assert(md.startsWith("# Amazon"), "the Markdown download is the report");
  await page.setViewportSize({ width: 390, height: 844 });
  const resultsWidth = await page.evaluate(() => document.documentElement.scrollWidth);
  assert(resultsWidth <= 390, `the results page is ${resultsWidth}px wide at 390px`);
  await shoot(page, "results-mobile");
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.goto(BASE + "/interview-prep/history");
  assert(await page.locator("section.progress svg.chart").count() === 1, "history charts progress");
  await shoot(page, "history-progress");
  await page.goto(BASE + sessionPath);
  await page.waitForSelector(".static-transcript", { timeout: 15000 });
  assert(await page.locator(".badge", { hasText: "completed" }).count() === 1, "the interview is COMPLETED");
  await shoot(page, "completed-desktop");

  // What the page shows is what the database holds.
  const shown = await page.locator(".static-transcript li .text").allInnerTexts();
  const stored = await page.evaluate(async (path) => {
    const id = path.split("/").pop();
    return (await (await fetch(`/api/v1/sessions/${id}/transcript`)).json()).map((t) => t.text);
  }, sessionPath);
  assert(JSON.stringify(shown.map((t) => t.trim())) === JSON.stringify(stored.map((t) => t.trim())), "page and database agree");
  assert(stored.filter((t) => t === story).length === 1, "the first answer is stored once");
  assert(errors.length === 0, "no page errors or CSP violations: " + errors.join("; "));
  await context.close();
});

test("a coding round runs code in the sandbox and keeps hidden tests hidden", async (browser) => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("console", (m) => { if (/Content Security Policy|Monaco:/i.test(m.text())) errors.push(m.text()); });
  await page.goto(BASE + "/signup?next=/interview-prep/amazon/sde-ii");
  await page.fill("#email", `coder.${Date.now()}@example.com`);
  await page.fill("#password", "correct horse battery");
  await Promise.all([page.waitForURL("**/interview-prep/amazon/sde-ii"), page.click("button[type=submit]")]);
  // Practise only the technical phone screen (the second round, a coding round).
  const boxes = page.locator('input[name="rounds"]');
  for (let i = 0; i < await boxes.count(); i++) if (i !== 1) await boxes.nth(i).uncheck();
  await Promise.all([page.waitForURL("**/interview-prep/session/**"), page.click("#start")]);
  await page.click("#begin");
  await page.waitForSelector("#code:not([hidden])", { timeout: 15000 });
  // The problem's Markdown is rendered: lists and inline code, no raw markers.
  const brief = await page.$eval("#brief-text", (el) => ({ items: el.querySelectorAll("li").length, code: el.querySelectorAll("code").length, text: el.textContent }));
  assert(brief.items > 0 && brief.code > 0 && !brief.text.includes("**") && !brief.text.includes("`"), `the problem is rendered: ${JSON.stringify(brief)}`);
  // The Monaco editor replaces the plain one, served from this server under the page's CSP.
  await page.waitForSelector('#code-editor[data-ready="true"] .monaco-editor', { timeout: 20000 });
  assert(await page.locator("#code-src").isHidden(), "the plain editor gives way to Monaco");
  const starter = await page.inputValue("#code-src");
  assert(starter.includes("def "), `the editor starts from the Python starter code: ${starter}`);
  const shown = async () => (await page.locator("#code-editor .view-lines").innerText()).replace(/\u00a0/g, " ");
  assert((await shown()).includes("def "), `Monaco shows the starter code: ${await shown()}`);
  await page.click('[data-run="RUN_MODE_RUN"]');
  await page.waitForSelector(".code-verdict", { timeout: 30000 });
  const verdict = await page.locator(".code-verdict").innerText();
  assert(/of \d+ tests passed/.test(verdict) && !verdict.startsWith("accepted"), `the empty starter is not accepted: ${verdict}`);
  assert((await page.locator(".code-tests li").first().innerText()).includes("expected"), "samples show what was expected");
  await shoot(page, "coding-round-desktop");
  await page.click('[data-run="RUN_MODE_SUBMIT"]');
  await page.waitForFunction(() => document.querySelector(".code-verdict")?.textContent.includes("hidden"), null, { timeout: 30000 });
  const hidden = await page.locator(".code-tests li").allInnerTexts();
  assert(hidden.length >= 8 && hidden.every((t) => !t.includes("expected")), "hidden tests show only their verdicts");

  // The interviewer reacts to the submission, and gives a hint when asked.
  await page.waitForFunction(() => [...document.querySelectorAll("#transcript li.interviewer")].some((li) => /hidden tests pass/.test(li.textContent)), null, { timeout: 15000 });
  await page.click('[data-control="ACTION_HINT"]');
  await page.waitForFunction(() => [...document.querySelectorAll("#transcript li.interviewer")].some((li) => li.textContent.includes("Here's a hint:")), null, { timeout: 15000 });
  // A hint asked for in words gets the next one (or word that there are no more): first in the usual words, then
  // in words no phrase rule knows, which the interviewer reads for their meaning (tests/intents.rs checks the same
  // wording against the embedding model).
  const hinted = () => page.evaluate(() => [...document.querySelectorAll("#transcript li.interviewer")].filter((li) => /Here's a hint:|all the hints/.test(li.textContent)).length);
  for (const ask of ["I'm stuck, could I get another hint?", "Honestly I'm drawing a blank with this one, anything you can offer?"]) {
    const hintsBefore = await hinted();
    await page.fill("#answer", ask);
    await page.press("#answer", "Enter");
    await page.waitForFunction((n) => [...document.querySelectorAll("#transcript li.interviewer")].filter((li) => /Here's a hint:|all the hints/.test(li.textContent)).length > n, hintsBefore, { timeout: 15000 });
  }

  // What the candidate typed survives a reload, in the language they were using.
  await page.selectOption("#code-lang", "javascript");
  await page.click("#code-editor .view-lines");
  await page.keyboard.press("Control+A");
  await page.keyboard.type("let answer = 42; // mine");
  await page.waitForTimeout(1600);
  await page.reload();
  await page.waitForSelector('#code-editor[data-ready="true"]', { timeout: 20000 });
  await page.waitForFunction(() => document.querySelector("#code-src").value.includes("answer = 42"), null, { timeout: 10000 });
  assert((await shown()).includes("answer = 42"), "Monaco shows the restored code");
  assert((await page.inputValue("#code-lang")) === "javascript", "the language comes back too");
  await page.selectOption("#code-lang", "python");
  assert((await page.inputValue("#code-src")).includes("def "), "the other language keeps its own code");
  await shoot(page, "coding-monaco");
  // C compiles inside the sandbox: its starter compiles, runs and is judged on the samples.
  await page.selectOption("#code-lang", "c");
  assert((await page.inputValue("#code-src")).includes("{"), "the editor shows the C starter code");
  await page.click('[data-run="RUN_MODE_RUN"]');
  await page.waitForFunction(() => { const v = document.querySelector(".code-verdict")?.textContent || ""; return !v.includes("hidden") && /of \d+ tests passed/.test(v); }, null, { timeout: 30000 });
  const cVerdict = await page.locator(".code-verdict").innerText();
  assert(!cVerdict.startsWith("compilation error") && !cVerdict.startsWith("accepted"), `the C starter compiles and is not accepted: ${cVerdict}`);
  await shoot(page, "coding-c");
  assert(errors.length === 0, "no page errors or CSP violations: " + errors.join("; "));
  await context.close();
});

test("a spoken answer from the microphone becomes the candidate's turn, and speaking over the interviewer stops it", async () => {
  // Chromium's fake microphone plays a recording (espeak-ng, then silence so the answer ends) in a loop.
  const dir = mkdtempSync(join(tmpdir(), "rehearse-mic-"));
  const said = join(dir, "said.wav");
  const wav = join(dir, "answer.wav");
  execFileSync("espeak-ng", ["-v", "en-us", "-s", "150", "-w", said, "I owned the migration of our billing service and we shipped it early."]);
  execFileSync("sox", [said, wav, "pad", "0.5", "3"]);
  const micBrowser = await launch(["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream", `--use-file-for-fake-audio-capture=${wav}`]);
  try {
    const page = await micBrowser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(BASE + "/signup?next=/interview-prep/amazon/sde-ii");
    await page.fill("#email", `mic.${Date.now()}@example.com`);
    await page.fill("#password", "correct horse battery");
    await Promise.all([page.waitForURL("**/interview-prep/amazon/sde-ii"), page.click("button[type=submit]")]);
    await Promise.all([page.waitForURL("**/interview-prep/session/**"), page.click("#start")]);
    await page.click("#begin");
    await page.waitForFunction(() => document.querySelectorAll('#transcript li.interviewer[data-final="true"]').length >= 1);
    assert(await page.locator("#mic-toggle").isVisible(), "the server can listen, so the page offers the microphone");
    await page.check("#mic");
    // While the candidate speaks, a caption of their words so far shows (not final yet), then gives way to the answer.
    await page.waitForFunction(() => [...document.querySelectorAll('#transcript li.candidate[data-final="false"]')].some((li) => li.querySelector(".text").textContent.trim().length > 3), null, { timeout: 45000 });
    await shoot(page, "spoken-answer-caption");
    await page.waitForFunction(() => [...document.querySelectorAll('#transcript li.candidate[data-final="true"]')].some((li) => /billing|migration/i.test(li.textContent)), null, { timeout: 45000 });
    const heard = await page.locator('#transcript li.candidate[data-final="true"]').first().innerText();
    await shoot(page, "spoken-answer");
    // While the microphone is on: its level shows, and the pill says who has the floor.
    assert(await page.locator("#mic-tools").isVisible(), "the microphone's tools show while it is on");
    await page.waitForFunction(() => parseFloat(document.querySelector("#mic-level").style.width) > 0, null, { timeout: 10000 });
    const pill = await page.locator("#voice-state").innerText();
    assert(["Listening", "Thinking…", "Interviewer speaking"].includes(pill), `the state pill: ${pill}`);
    // With the interviewer's voice on, the recording (which repeats) speaks over a reply: the page stops the voice
    // at once and tells the server (barge-in).
    await page.check("#voice");
    await page.waitForFunction(() => Number(document.querySelector("#mic-toggle").dataset.interruptions || 0) >= 1, null, { timeout: 60000 });
    await shoot(page, "barge-in");
    await page.uncheck("#mic");
    assert(errors.length === 0, "no page errors: " + errors.join("; "));
    console.log(`     heard: ${heard.replace(/\s+/g, " ").trim()}`);
  } finally {
    await micBrowser.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

const browser = await launch(["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream", "--autoplay-policy=no-user-gesture-required"]);
let passed = 0;
let failed = 0;
for (const t of tests) {
  const started = Date.now();
  try {
    await t.fn(browser);
    passed++;
    console.log(`ok   ${t.name} (${Date.now() - started} ms)`);
  } catch (e) {
    failed++;
    console.log(`FAIL ${t.name}\n     ${String(e && e.stack || e).split("\n").join("\n     ")}`);
  }
}
await browser.close();
console.log(`screenshots: ${SHOTS}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
