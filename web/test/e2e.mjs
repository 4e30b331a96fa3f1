// Browser test of the web app against the real platform: builds the web app and bin/vds, starts
// `vds up` on free loopback ports with a temporary home, drives Debian's Chromium with
// playwright-core through register → upload (with progress) → profile with charts → analysis with
// streamed job events → a conversation with streamed steps and a chart → a clicked bar sent as
// context. Screenshots of each step go to test-output/ (gitignored).
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = path.dirname(fileURLToPath(import.meta.url));
const web = path.resolve(here, "..");
const root = path.resolve(web, "..");
const out = path.join(web, "test-output");
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const started = Date.now();
let deadline = started + 170_000; // the browser part stays under 3 minutes (reset after the builds)

function log(msg) {
  console.log(`[${((Date.now() - started) / 1000).toFixed(1)}s] ${msg}`);
}
function fail(msg) {
  console.error(`FAIL: ${msg}`);
  process.exitCode = 1;
  throw new Error(msg);
}

if (!existsSync(CHROMIUM)) {
  if (process.env.CI === "true") fail(`${CHROMIUM} is missing: CI must install Debian's chromium package`);
  console.log(`SKIP web browser test: ${CHROMIUM} not found (apt-get install -y chromium to run it)`);
  process.exit(0);
}
const shared = process.env.VDS_SHARED_DATA ?? path.resolve(root, "../shared/data");
const csv = path.join(shared, "tabular/telco_churn.csv");
if (!existsSync(csv)) fail(`${csv} not found (set VDS_SHARED_DATA)`);

function run(cmd, args, cwd) {
  log(`${cmd} ${args.join(" ")}`);
  const r = spawnSync(cmd, args, { cwd, stdio: "inherit" });
  if (r.status !== 0) fail(`${cmd} ${args.join(" ")} exited ${r.status}`);
}
// newest modification time of the web app's sources, to skip a build that is already current.
function newest(p) {
  const st = statSync(p);
  if (!st.isDirectory()) return st.mtimeMs;
  return Math.max(0, ...readdirSync(p).map((n) => newest(path.join(p, n))));
}
if (!process.env.VDS_WEB_TEST_NO_BUILD) {
  const built = path.join(root, "services/gateway/webui/dist/index.html");
  const sources = ["src", "index.html", "package-lock.json", "vite.config.ts", "tsconfig.json"].map((n) => newest(path.join(web, n)));
  if (!existsSync(built) || statSync(built).mtimeMs < Math.max(...sources)) run("npm", ["run", "build", "--silent"], web);
  else log("web app build is current");
  run("make", ["build"], root);
}

deadline = Date.now() + 170_000;
mkdirSync(out, { recursive: true });
const home = mkdtempSync(path.join(tmpdir(), "vds-web-test-"));
const profileDir = mkdtempSync(path.join(tmpdir(), "vds-web-chromium-"));
const vds = spawn(path.join(root, "bin/vds"), ["up", "--home", home, "--http-addr", "127.0.0.1:0", "--grpc-addr", "127.0.0.1:0", "--log-level", "warn"], {
  stdio: ["ignore", "pipe", "pipe"],
});
let vdsErr = "";
vds.stderr.on("data", (d) => (vdsErr = (vdsErr + d).slice(-4000)));
const baseURL = await new Promise((resolve, reject) => {
  let buf = "";
  const t = setTimeout(() => reject(new Error(`vds up did not start in 120s: ${buf} ${vdsErr}`)), 120_000);
  vds.stdout.on("data", (d) => {
    buf += d;
    const m = buf.match(/gateway \(REST, OpenAPI, web app\):\s+(http:\/\/\S+)/);
    if (m) {
      clearTimeout(t);
      resolve(m[1]);
    }
  });
  vds.on("exit", (c) => reject(new Error(`vds up exited ${c}: ${vdsErr}`)));
});
log(`platform up at ${baseURL}`);

const ctx = await chromium.launchPersistentContext(profileDir, {
  executablePath: CHROMIUM,
  headless: true,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
  viewport: { width: 1280, height: 900 },
});
const page = ctx.pages()[0] ?? (await ctx.newPage());
const pageErrors = [];
page.on("pageerror", (e) => pageErrors.push(String(e)));
page.on("console", (m) => m.type() === "error" && pageErrors.push(m.text()));
// Conversation events must come as Server-Sent Events (EventSource) from the gateway's runs.
const eventSources = [];
page.on("request", (r) => r.resourceType() === "eventsource" && eventSources.push(r.url()));
const remaining = () => Math.max(1000, deadline - Date.now());
let step = 0;
async function shot(name) {
  const file = path.join(out, `${String(++step).padStart(2, "0")}-${name}.png`);
  await page.screenshot({ path: file, fullPage: false });
  log(`screenshot ${path.relative(web, file)}`);
}

try {
  // 1. Register (the app signs in right after) and land on the personal project.
  await page.goto(`${baseURL}/#/register`);
  await page.getByLabel("Email").fill(`ada-${Date.now()}@example.com`);
  await page.getByLabel("Password").fill("correct-horse-battery-9");
  await page.getByLabel("Name (optional)").fill("Ada");
  await shot("register");
  await page.keyboard.press("Enter"); // keyboard submit
  await page.getByRole("heading", { name: "Upload a dataset" }).waitFor({ timeout: 15_000 });
  const cookies = await ctx.cookies();
  const sess = cookies.find((c) => c.name === "vds_session");
  if (!sess || !sess.httpOnly || sess.sameSite !== "Strict") fail(`session cookie ${JSON.stringify(sess)}`);
  if (await page.evaluate(() => document.cookie.includes("vds_session"))) fail("the session cookie is readable by scripts");
  await page.getByText("No datasets yet").waitFor();
  await shot("signed-in-empty-project");

  // 2. Upload with progress.
  await page.getByLabel(/^File/).setInputFiles(csv);
  await page.getByRole("button", { name: "Upload" }).click();
  await page.locator("#upload-progress:not([hidden])").waitFor({ timeout: 10_000 });
  await page.waitForURL(/#\/d\/ds_/, { timeout: 60_000 });
  const value = await page.locator("#upload-progress").getAttribute("value").catch(() => null);
  log(`uploaded; dataset page ${page.url()} (last progress ${value})`);

  // 3. The profile: at least one rendered Vega chart, alerts, paged columns.
  await page.locator("#profile .chart.rendered svg").first().waitFor({ timeout: 60_000 });
  const rows = await page.locator("#columns tbody tr").count();
  if (rows < 10) fail(`columns table has ${rows} rows`);
  const marks = await page.locator("#profile .chart.rendered svg .mark-rect path, #profile .chart.rendered svg .mark-rect rect, #profile .chart.rendered svg path").count();
  if (marks < 1) fail("the profile chart has no marks");
  await shot("profile");
  await page.locator("#profile .charts").scrollIntoViewIfNeeded();
  await shot("profile-charts");

  // 3b. The generated dashboard, reached from the dataset page: without a target telco gets the
  // overview; with the classification target Churn, the target breakdown (positive rate tile,
  // drivers, rates by the strongest drivers) rendered with vega-embed.
  const datasetPage = page.url();
  await page.getByRole("link", { name: "Dashboard" }).click();
  await page.locator("#dashboard .dashboard[data-kind=overview] .dash-panel.rendered svg").first().waitFor({ timeout: 60_000 });
  await page.getByLabel("Classification target").selectOption("Churn");
  await page.getByRole("button", { name: "Propose" }).click();
  const breakdown = page.locator("#dashboard .dashboard[data-kind=target_breakdown]");
  await breakdown.locator(".dash-panel.rendered svg").first().waitFor({ timeout: 60_000 });
  const rate = await breakdown.locator(".dash-tile[data-key=positive_rate] .dash-tile-value").innerText();
  if (rate !== "26.5%") fail(`dashboard positive rate tile shows "${rate}", want 26.5% (1869 of 7043)`);
  const byContract = breakdown.locator(".dash-panel[data-kind=rate]", { hasText: "by Contract" });
  await byContract.locator("svg .mark-rect path").first().waitFor({ timeout: 20_000 });
  const dashBars = await byContract.locator("svg .mark-rect path").count();
  if (dashBars !== 3) fail(`the dashboard's churn rate by Contract has ${dashBars} bars, want 3`);
  const panels = await breakdown.locator(".dash-panel").count();
  log(`dashboard: target breakdown with ${panels} panels, positive rate ${rate}`);
  await shot("dashboard-target-breakdown");
  await page.goto(datasetPage);
  await page.locator("#profile .chart.rendered svg").first().waitFor({ timeout: 60_000 });

  // 4. Analysis: streamed job progress, then the report's charts.
  await page.locator("#analysis").scrollIntoViewIfNeeded();
  await page.getByLabel("Target").selectOption("Churn");
  await page.getByRole("button", { name: "Run analysis" }).click();
  await page.locator("#analysis .progress .stage:not(:empty)").waitFor({ timeout: 30_000 });
  await shot("analysis-progress");
  await page.locator("#report .chart.rendered svg").first().waitFor({ timeout: Math.min(120_000, remaining()) });
  await page.locator("#report").scrollIntoViewIfNeeded();
  await shot("analysis-report");
  const modelHref = await page.locator("#model-link").getAttribute("href");
  if (!modelHref?.startsWith("#/m/")) fail(`the report links no model: ${modelHref}`);
  const datasetHash = new URL(page.url()).hash;

  // 5. Ask, see streamed steps and a chart.
  await page.getByLabel("Question").fill("why is churn high?");
  await page.getByLabel("Question").press("Enter");
  await page.locator("#thread .turn .steps li").first().waitFor({ timeout: 30_000 });
  await page.locator("#thread .turn .answer").first().waitFor({ timeout: remaining() });
  const turnChart = page.locator("#thread .turn").first().locator(".chart.rendered svg").first();
  await turnChart.waitFor({ timeout: 10_000 });
  await page.locator("#thread .turn").first().scrollIntoViewIfNeeded();
  await shot("conversation-answer");
  if (!eventSources.some((u) => /\/v1\/conversations\/[^/]+\/runs\/run_[0-9a-f]+\/events$/.test(u)))
    fail(`the conversation did not stream over EventSource: ${JSON.stringify(eventSources)}`);

  // 6. Click a bar: the selection shows as a chip and goes out with the next question.
  const selectable = page.locator("#thread .chart.selectable.rendered").first();
  await selectable.scrollIntoViewIfNeeded();
  const bar = selectable.locator("svg .mark-rect path").first();
  await bar.click({ force: true });
  const chip = page.locator("#selections .chip").first();
  await chip.waitFor({ timeout: 5_000 });
  const chipText = (await chip.innerText()).replace(/\s*×$/, "");
  log(`selection: ${chipText}`);
  await shot("selection");
  const sent = page.waitForRequest((r) => /\/runs$/.test(r.url()) && r.method() === "POST");
  await page.getByLabel("Question").fill("why is churn high here?");
  await page.getByLabel("Question").press("Enter");
  const body = JSON.parse((await sent).postData() ?? "{}");
  if (!body.selections?.length || !body.selections[0].field || !body.selections[0].values?.length) fail(`follow-up sent no selection: ${JSON.stringify(body)}`);
  const second = page.locator("#thread .turn").nth(1);
  await second.locator(".answer, .error").first().waitFor({ timeout: remaining() });
  if (await second.locator(".error").count()) fail(`follow-up failed: ${await second.locator(".error").first().innerText()}`);
  await second.scrollIntoViewIfNeeded();
  const secondText = await second.innerText();
  log(`follow-up sent ${JSON.stringify(body.selections)}; answer: ${secondText.slice(0, 300).replace(/\n/g, " | ")}`);
  await shot("follow-up");
  // The follow-up answers over the selected rows: its chart by the selected column has one bar (the
  // selected value) where the first answer's had one per value (telco: 3 contract kinds).
  const column = body.selections[0].field;
  const bars = async (turn) => turn.locator(".chart.rendered", { hasText: `by ${column}` }).first().locator("svg .mark-rect path").count();
  const before = await bars(page.locator("#thread .turn").first());
  const after = await bars(second);
  log(`bars by ${column}: ${before} in the first answer, ${after} in the follow-up`);
  if (!(before > 1 && after === 1)) fail(`the follow-up did not use the selection ${chipText}: ${before} bars before, ${after} after`);
  // The answer says it is scoped to the selection.
  const answer2 = await second.locator(".answer").last().innerText();
  const scope = `${body.selections[0].field} = ${body.selections[0].values[0]}`;
  if (!answer2.includes(`Over the selected rows (${scope}`)) fail(`the follow-up's answer does not say it used ${scope}: ${answer2.slice(0, 200)}`);

  // 6b. Brush a range on a profile histogram: the range goes with the next question, and the
  // answer says so.
  await page.locator("#profile .charts").scrollIntoViewIfNeeded();
  await page.locator("#profile .chart", { hasText: "tenure" }).first().scrollIntoViewIfNeeded(); // charts render as they scroll into view
  const hist = page.locator("#profile .chart.brushable.rendered", { hasText: "tenure" }).first();
  await hist.waitFor({ timeout: 20_000 });
  await hist.scrollIntoViewIfNeeded();
  // From the keyboard: the "from / to" fields under the histogram make a range selection.
  await hist.getByLabel("tenure from").fill("1");
  await hist.getByLabel("to", { exact: true }).fill("5");
  await hist.getByLabel("to", { exact: true }).press("Enter");
  await page.locator("#selections .chip", { hasText: "1 ≤ tenure ≤ 5" }).waitFor({ timeout: 5_000 });
  const box = await hist.locator("svg").first().boundingBox();
  await page.mouse.move(box.x + box.width * 0.3, box.y + box.height * 0.5);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * 0.45, box.y + box.height * 0.5, { steps: 5 });
  await page.mouse.move(box.x + box.width * 0.6, box.y + box.height * 0.5, { steps: 5 });
  await page.mouse.up();
  const rangeChip = page.locator("#selections .chip", { hasText: "≤", hasNotText: "1 ≤ tenure ≤ 5" }).first();
  await rangeChip.waitFor({ timeout: 5_000 });
  const rangeText = (await rangeChip.innerText()).replace(/\s*selected\s*×?$/, "");
  if ((await page.locator("#selections .chip", { hasText: "≤" }).count()) !== 1 || rangeText === "1 ≤ tenure ≤ 5")
    fail(`brushing did not replace the typed range of the same chart: ${await page.locator("#selections").innerText()}`);
  log(`brushed: ${rangeText}`);
  await shot("brushed-range");
  // This question's event stream is cut after two events (the test answers the first connection with
  // those only): the page reconnects from event 2 (?last_event_id=2) and the gateway sends the rest,
  // so each event shows once.
  const runEvents = /\/v1\/conversations\/[^/]+\/runs\/run_[0-9a-f]+\/events/;
  let full = "", resumedWith;
  await page.route(runEvents, async (route) => {
    if (full) {
      // The reconnection: what the gateway sends back shows whether the browser's Last-Event-ID
      // reached it (then the ids start at 3).
      const again = await route.fetch();
      const body = await again.text();
      resumedWith = (body.match(/^id: (\d+)$/m) ?? [])[1] ?? "none";
      return route.fulfill({ response: again, body });
    }
    const resp = await route.fetch(); // the whole stream (the question is quick)
    full = await resp.text();
    const first2 = full.split("\n\n").filter((b) => b.includes("event: conversation")).slice(0, 2);
    await route.fulfill({ status: 200, headers: { "content-type": "text/event-stream" }, body: `retry: 300\n\n${first2.join("\n\n")}\n\n` });
  });
  const sent3 = page.waitForRequest((r) => /\/runs$/.test(r.url()) && r.method() === "POST");
  await page.getByLabel("Question").fill("how many rows are there?");
  await page.getByLabel("Question").press("Enter");
  const body3 = JSON.parse((await sent3).postData() ?? "{}");
  const rs = body3.selections?.[0];
  if (!rs || !(rs.rangeHigh > rs.rangeLow) || rs.values?.length) fail(`the brushed range was not sent: ${JSON.stringify(body3)}`);
  const third = page.locator("#thread .turn").nth(2);
  await third.locator(".answer, .error").first().waitFor({ timeout: remaining() });
  const answer3 = await third.locator(".answer, .error").last().innerText();
  if (!answer3.includes(`Over the selected rows (${rangeText}`)) fail(`the answer over the brushed range does not say so: ${answer3.slice(0, 200)}`);
  await page.unroute(runEvents);
  const plans = full.split("\n\n").filter((b) => b.includes('"planSummary"')).length;
  const shownPlans = await third.locator(".steps li.plan").count();
  const answers = await third.locator(".answer").count();
  log(`dropped stream: the reconnection's first event id is ${resumedWith}; ${shownPlans} plan lines shown of ${plans} sent, ${answers} answer`);
  if (resumedWith !== "3" || shownPlans !== plans || answers !== 1) fail(`resume: reconnection starts at id ${resumedWith}, ${shownPlans} of ${plans} plan lines, ${answers} answers`);

  // When the gateway no longer has the run (404 on the event stream), the page reads the stored answer.
  const errorsNow = pageErrors.length;
  await page.route(runEvents, (route) => route.fulfill({ status: 404, contentType: "application/json", body: '{"code":5,"message":"run not on this gateway"}' }));
  await page.getByLabel("Question").fill("how many rows are there?");
  await page.getByLabel("Question").press("Enter");
  const fourth = page.locator("#thread .turn").nth(3);
  await fourth.locator(".answer, .error").first().waitFor({ timeout: remaining() });
  const answer4 = await fourth.locator(".answer, .error").last().innerText();
  if (!/7,?043 rows/.test(answer4)) fail(`the answer read back after a lost run: ${answer4.slice(0, 200)}`);
  await page.unroute(runEvents);
  if (pageErrors.slice(errorsNow).every((m) => m.includes("status of 404"))) pageErrors.splice(errorsNow); // the deliberate 404
  await third.scrollIntoViewIfNeeded();
  await shot("brushed-follow-up");

  // 6c. Lineage of a chart of the answer: what it was made from, drawn as a graph.
  await page.locator("#thread .turn").first().locator(".chart a", { hasText: "Lineage" }).first().click();
  await page.locator("#lineage-graph svg .node").first().waitFor({ timeout: 15_000 });
  const lineageNodes = await page.locator("#lineage-graph svg .node").count();
  const lineageText = await page.locator("#lineage-edges").innerText();
  if (lineageNodes < 2 || !lineageText.includes("ask")) fail(`chart lineage: ${lineageNodes} nodes, edges "${lineageText.slice(0, 200)}"`);
  if ((await page.locator("#lineage-graph svg a").count()) < 1) fail("lineage nodes are not links");
  await shot("lineage-chart");
  // Keyboard: a node of the graph is a link; Enter on it opens that artifact's lineage.
  const chartLineageURL = page.url();
  await page.locator("#lineage-graph svg a").first().focus();
  await page.keyboard.press("Enter");
  await page.waitForURL((u) => u.toString() !== chartLineageURL && u.hash.startsWith("#/lineage/"), { timeout: 10_000 });
  await page.getByRole("heading", { name: /^Lineage of / }).waitFor();

  // 7. The model: leaderboard and explanations (permutation, SHAP, partial dependence).
  await page.goto(`${baseURL}/${modelHref}`);
  await page.locator("#leaderboard-table tbody tr").first().waitFor({ timeout: 15_000 });
  for (const m of ["permutation", "shap", "pdp"]) {
    await page.locator(`#explain-${m} .chart.rendered svg, #explain-${m} .error`).first().waitFor({ timeout: Math.min(60_000, remaining()) });
    if (await page.locator(`#explain-${m} .error`).count()) fail(`${m}: ${await page.locator(`#explain-${m} .error`).first().innerText()}`);
  }
  const lbRows = await page.locator("#leaderboard-table tbody tr").count();
  const pdpCharts = await page.locator("#explain-pdp .chart.rendered").count();
  const shapBars = await page.locator("#explain-shap .chart.rendered svg .mark-rect path").count();
  log(`model page: ${lbRows} leaderboard rows, ${shapBars} SHAP bars, ${pdpCharts} partial dependence charts`);
  if (lbRows < 1 || shapBars < 3 || pdpCharts < 1) fail(`model page: ${lbRows} leaderboard rows, ${shapBars} SHAP bars, ${pdpCharts} PDP charts`);
  await shot("model-leaderboard");
  await page.locator("#explain-shap").scrollIntoViewIfNeeded();
  await shot("model-explanations");

  // 8. Causal: the effect of paperless billing on churn adjusted for tenure and charges, with its
  // interval, refutations and the graph it assumes.
  await page.goto(`${baseURL}/${datasetHash}/causal`);
  await page.getByLabel("Treatment (the cause)").selectOption("PaperlessBilling");
  await page.getByLabel("Treated value (optional)").fill("Yes");
  await page.getByLabel("Outcome (the effect)").selectOption("Churn");
  await page.getByLabel(/^Adjust for/).selectOption(["tenure", "MonthlyCharges", "SeniorCitizen"]);
  await shot("causal-form");
  await page.getByRole("button", { name: "Estimate" }).click();
  await Promise.race([
    page.waitForURL(/#\/e\/est_/, { timeout: Math.min(90_000, remaining()) }),
    page.locator("#causal-status .error").waitFor({ timeout: Math.min(90_000, remaining()) }).then(async () => fail(`estimate: ${await page.locator("#causal-status").innerText()}`)),
  ]);
  await page.locator("#graph svg .node").first().waitFor({ timeout: 15_000 });
  await page.locator("#effect-chart.rendered svg").waitFor({ timeout: 15_000 });
  const effect = await page.locator("#effect").innerText();
  const gNodes = await page.locator("#graph svg .node").count();
  const gEdges = await page.locator("#graph svg path.edge").count();
  const refRows = await page.locator("#refutations tbody tr").count();
  log(`estimate: ${effect.split("\n")[0]}; graph ${gNodes} nodes ${gEdges} edges; ${refRows} refutations`);
  if (!/95% CI -?[\d.]+ to -?[\d.]+/.test(effect) || gNodes !== 5 || gEdges !== 7 || refRows < 1) fail(`estimate page: "${effect}", ${gNodes} nodes, ${gEdges} edges, ${refRows} refutations`);
  await shot("causal-estimate");
  await page.locator("#causal-graph").scrollIntoViewIfNeeded();
  await shot("causal-graph");

  // 8b. The same effect identified from a graph the PC algorithm discovers over those columns: the
  // estimate page draws the stored graph.
  await page.goto(`${baseURL}/${datasetHash}/causal`);
  await page.getByLabel("Treatment (the cause)").selectOption("PaperlessBilling");
  await page.getByLabel("Treated value (optional)").fill("Yes");
  await page.getByLabel("Outcome (the effect)").selectOption("Churn");
  await page.getByLabel(/^Adjust for/).selectOption(["tenure", "MonthlyCharges", "SeniorCitizen"]);
  await page.getByLabel(/^Discover a graph/).check();
  await page.getByRole("button", { name: "Estimate" }).click();
  const discovered = await Promise.race([
    page.waitForURL(/#\/e\/est_\w+\?graph=/, { timeout: Math.min(90_000, remaining()) }).then(() => "estimate"),
    page.locator("#causal-status .error").waitFor({ timeout: Math.min(90_000, remaining()) }).then(() => "error"),
  ]);
  if (discovered === "error") fail(`estimate from a discovered graph: ${await page.locator("#causal-status").innerText()}`);
  await page.locator("#graph svg .node").first().waitFor({ timeout: 15_000 });
  const dCaption = await page.locator("#graph figcaption").innerText();
  const dNodes = await page.locator("#graph svg .node").count();
  const dEdges = await page.locator("#graph svg path.edge").count();
  log(`discovered graph: ${dCaption}; ${dNodes} nodes, ${dEdges} edges; ${(await page.locator("#effect").innerText()).split("\n")[0]}`);
  if (!dCaption.includes("discovered") || dNodes !== 5) fail(`discovered graph: "${dCaption}", ${dNodes} nodes`);
  await page.locator("#causal-graph").scrollIntoViewIfNeeded();
  await shot("causal-discovered-graph");

  // 9. A readable error state: an unknown model says what is wrong, and the page offers a way back.
  const errorsBefore = pageErrors.length;
  await page.goto(`${baseURL}/#/m/mdl_${"0".repeat(32)}`);
  const err = page.locator("main .error[role=alert]");
  await err.waitFor({ timeout: 10_000 });
  if (!/not found|does not exist|no model/i.test(await err.innerText())) fail(`error state: ${await err.innerText()}`);
  await shot("error-state");
  // The browser logs the deliberate 404 as a console error: that one is expected.
  if (pageErrors.slice(errorsBefore).every((m) => m.includes("status of 404"))) pageErrors.splice(errorsBefore);
  await page.goto(`${baseURL}/${datasetHash}`);

  // 10. Wide data keeps a paged column list (50 a page) and lazily rendered charts. (300 columns by
  // default: ingesting 2000 columns takes minutes on this machine; VDS_WEB_TEST_WIDE=2000 tries it.)
  const W = Number(process.env.VDS_WEB_TEST_WIDE ?? 300);
  const wide = path.join(home, `wide_${W}.csv`);
  const header = Array.from({ length: W }, (_, j) => `c${j}`).join(",");
  const lines = Array.from({ length: 40 }, (_, i) => Array.from({ length: W }, (_, j) => (i * 7 + j) % 13).join(","));
  writeFileSync(wide, [header, ...lines].join("\n") + "\n");
  await page.getByRole("link", { name: "‹ Datasets" }).click();
  await page.getByLabel(/^File/).setInputFiles(wide);
  await page.getByRole("button", { name: "Upload" }).click();
  await Promise.race([
    page.waitForURL(/#\/d\/ds_/, { timeout: remaining() }),
    page.locator("#upload-status .error").waitFor({ timeout: remaining() }).then(async () => fail(`wide upload: ${await page.locator("#upload-status").innerText()}`)),
  ]);
  await page.locator("#columns tbody tr").first().waitFor({ timeout: remaining() });
  const pageRows = await page.locator("#columns tbody tr").count();
  const info = await page.locator("#columns-title + .row [role=status]").innerText();
  if (pageRows !== 50 || !info.includes(`of ${W}`)) fail(`wide profile: ${pageRows} rows shown, "${info}"`);
  await page.getByRole("button", { name: "Next page of columns" }).click();
  const info2 = await page.locator("#columns-title + .row [role=status]").innerText();
  if (!info2.startsWith(`Columns 51–100 of ${W}`)) fail(`after Next: "${info2}"`);
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  if (width > 1300) fail(`the page is ${width}px wide at ${W} columns (viewport 1280)`);
  await page.locator("#columns").scrollIntoViewIfNeeded();
  await shot(`wide-${W}-columns`);

  // 10b. The page layout at 2000 columns, with the dataset and profile responses made up by the test
  // (2000 columns with a histogram each), since ingesting that many takes minutes here: the column
  // list stays paged, charts render only when scrolled to, the page does not widen.
  {
    const N = 2000, id = `ds_${"f".repeat(32)}`, pid = `prof_${"f".repeat(32)}`;
    const columns = Array.from({ length: N }, (_, j) => ({ name: `col_${j}`, semanticType: "SEMANTIC_TYPE_NUMERIC", missingCount: "0", distinctCount: "13", numeric: { mean: j % 13 } }));
    const charts = columns.map((c, j) => ({ id: `cht_${String(j).padStart(32, "0")}`, title: c.name, kind: "histogram",
      vegaLite: { $schema: "https://vega.github.io/schema/vega-lite/v6.json", width: "container", data: { values: [{ bin_start: 0, bin_end: 6, count: 20 }, { bin_start: 6, bin_end: 13, count: 20 }] },
        mark: "bar", encoding: { x: { field: "bin_start", type: "quantitative", bin: { binned: true }, title: c.name }, x2: { field: "bin_end" }, y: { field: "count", type: "quantitative" } } } }));
    const json = (body) => ({ status: 200, contentType: "application/json", body: JSON.stringify(body) });
    const dataset = { id, name: "made_up_2000_columns.csv", projectId: "prj_x", latestVersion: 1, current: { rowCount: "40", columns: columns.map((c) => ({ name: c.name })) } };
    await page.route(`**/v1/datasets/${id}`, (r) => r.fulfill(json({ dataset })));
    await page.route(`**/v1/datasets/${id}:profile`, (r) => r.fulfill(json({ profileId: pid, jobId: "", cached: true })));
    await page.route(`**/v1/profiles/${pid}`, (r) => r.fulfill(json({ profile: { id: pid, rowCount: "40", columnCount: N, duplicateRows: "0", columns, charts, alerts: [] } })));
    const t0 = Date.now();
    await page.goto(`${baseURL}/#/d/${id}`);
    await page.locator("#columns-title + .row [role=status]", { hasText: `of ${N}` }).waitFor({ timeout: 30_000 });
    await page.locator("#profile .chart.rendered").first().waitFor({ timeout: 30_000 });
    const ms = Date.now() - t0;
    const rows2k = await page.locator("#columns tbody tr").count();
    const info2k = await page.locator("#columns-title + .row [role=status]").innerText();
    const rendered = await page.locator("#profile .chart.rendered").count();
    const placeholders = await page.locator("#profile .chart.placeholder").count();
    const width2k = await page.evaluate(() => document.documentElement.scrollWidth);
    log(`2000 columns: page in ${ms} ms, ${rows2k} column rows, "${info2k}", ${rendered} charts rendered, ${placeholders} waiting, ${width2k}px wide`);
    if (rows2k !== 50 || !info2k.includes(`of ${N}`) || rendered > 200 || placeholders < N - 200 || width2k > 1300)
      fail(`2000-column layout: ${rows2k} rows, "${info2k}", ${rendered} rendered, ${placeholders} placeholders, ${width2k}px`);
    await page.getByLabel("Filter", { exact: true }).first().fill("col_1999");
    const filtered = await page.locator("#columns tbody tr").count();
    if (filtered !== 1) fail(`filtering 2000 columns for col_1999 shows ${filtered} rows`);
    await page.locator("#columns").scrollIntoViewIfNeeded();
    await shot("layout-2000-columns");
    await page.unrouteAll();
  }

  // 11. The browsable REST API.
  await page.goto(`${baseURL}/#/api`);
  await page.getByRole("heading", { name: "REST API" }).waitFor();
  const ops = await page.locator("tbody tr").count();
  if (ops < 30) fail(`the API page lists ${ops} operations`);
  await shot("api");
  if (pageErrors.length) fail(`page errors: ${pageErrors.join("; ")}`);
  log("PASS");
} catch (e) {
  await shot("failure").catch(() => {});
  console.error(e);
  process.exitCode = 1;
} finally {
  await ctx.close().catch(() => {});
  vds.kill("SIGTERM");
  await new Promise((r) => (vds.exitCode !== null ? r() : vds.on("exit", r)));
  rmSync(home, { recursive: true, force: true });
  rmSync(profileDir, { recursive: true, force: true });
  log(`done in ${((Date.now() - started) / 1000).toFixed(0)}s`);
}
