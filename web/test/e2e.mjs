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

  // 5. Ask, see streamed steps and a chart.
  await page.getByLabel("Question").fill("why is churn high?");
  await page.getByLabel("Question").press("Enter");
  await page.locator("#thread .turn .steps li").first().waitFor({ timeout: 30_000 });
  await page.locator("#thread .turn .answer").first().waitFor({ timeout: remaining() });
  const turnChart = page.locator("#thread .turn").first().locator(".chart.rendered svg").first();
  await turnChart.waitFor({ timeout: 10_000 });
  await page.locator("#thread .turn").first().scrollIntoViewIfNeeded();
  await shot("conversation-answer");

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
  const sent = page.waitForRequest((r) => r.url().includes(":send") && r.method() === "POST");
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

  // 7. Wide data keeps a paged column list (50 a page) and lazily rendered charts. (300 columns:
  // at 2000, ingestion's DuckDB runs out of its memory limit reading the header.)
  const W = 300;
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

  // 8. The browsable REST API.
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
