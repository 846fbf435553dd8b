/**
 * The explorer in a real browser: `npm start --keep-running` (a Hardhat node owned by this test, 40 devices, two
 * epochs, then one epoch after another), opened in Debian's chromium driven by playwright-core. The page is checked
 * against the chain at the block it says it shows: the coverage map holds every registered coverage device, the
 * emission chart the distributor's minted total, a slashed device shows as slashed; then a new epoch finalises while
 * the page is open and the page follows. Screenshots (laptop and phone width) go to test-artifacts/explorer/.
 */
import { expect } from "chai";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

import { JsonRpcProvider } from "ethers";
import { chromium, type Browser, type Page } from "playwright-core";

import { connectProtocol, parseDeployment } from "../../sdk/deployment";
import { DeviceStatus, ResourceClass } from "../../sdk/enums";
import { REPO_ROOT, startHardhatNode, type HardhatNode } from "../../scripts/lib/localnet/network";
import type { Summary } from "../../scripts/lib/localnet/run";

const CHROMIUM = "/usr/bin/chromium";
const ARTIFACTS = path.join(REPO_ROOT, "test-artifacts", "explorer");

/** Reads `npm start`'s output until `pattern` matches; rejects if the process ends first or after `timeoutMs`. */
function waitForOutput(child: ChildProcess, output: { text: string }, pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    const check = (): boolean => {
      const match = pattern.exec(output.text);
      if (match !== null) {
        cleanup();
        resolve(match);
      }
      return match !== null;
    };
    const onExit = (): void => {
      cleanup();
      reject(new Error(`npm start ended before printing ${pattern}:\n${output.text.slice(-2000)}`));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`no ${pattern} within ${timeoutMs} ms:\n${output.text.slice(-2000)}`));
    }, timeoutMs);
    const cleanup = (): void => {
      clearTimeout(timer);
      child.stdout!.off("data", onData);
      child.off("exit", onExit);
    };
    const onData = (): void => void check();
    child.stdout!.on("data", onData);
    child.once("exit", onExit);
    check();
  });
}

/** The block the page says it shows, and its finalised-epoch count. */
async function shown(page: Page): Promise<{ block: number; finalised: number }> {
  const [block, finalised] = await Promise.all([
    page.getAttribute("body", "data-block"),
    page.getAttribute("[data-testid=epochs-table]", "data-finalised"),
  ]);
  return { block: Number(block), finalised: Number(finalised) };
}

describe("e2e: explorer in a browser", function () {
  this.timeout(8 * 60_000);
  let node: HardhatNode;
  let dir: string;
  let run: ChildProcess | undefined;
  let browser: Browser | undefined;
  const output = { text: "" };

  before(async function () {
    node = await startHardhatNode();
    dir = mkdtempSync(path.join(tmpdir(), "meshwork-explorer-"));
    mkdirSync(ARTIFACTS, { recursive: true });
  });

  after(async function () {
    await browser?.close();
    if (run?.pid !== undefined && run.exitCode === null) {
      const ended = new Promise((resolve) => run!.once("exit", resolve));
      process.kill(-run.pid, "SIGINT");
      await ended;
    }
    await node?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it("shows the network as the chain has it, and follows new epochs", async function () {
    const summaryFile = path.join(dir, "summary.json");
    run = spawn(
      "npm",
      ["start", "--", "--devices", "40", "--epochs", "2", "--keep-running", "--chain", node.url, "--summary-json", summaryFile],
      { cwd: REPO_ROOT, detached: true, stdio: ["ignore", "pipe", "pipe"] },
    );
    run.stdout!.on("data", (c: Buffer) => (output.text += c.toString()));
    run.stderr!.on("data", (c: Buffer) => (output.text += c.toString()));
    const [, url] = await waitForOutput(run, output, /Explorer: (http:\/\/127\.0\.0\.1:\d+)/, 180_000);
    await waitForOutput(run, output, /The network keeps running/, 240_000);
    const summary = JSON.parse(readFileSync(summaryFile, "utf8")) as Summary;

    const provider = new JsonRpcProvider(node.url, undefined, { cacheTimeout: -1 });
    const deployment = parseDeployment(
      JSON.parse(readFileSync(path.join(summary.workdir, "deployments", `${summary.chainId}.json`), "utf8")),
    );
    const { registry, distributor, slashing } = connectProtocol(deployment, provider);

    browser = await chromium.launch({ executablePath: CHROMIUM });
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(url);
    await page.waitForSelector("[data-testid=coverage-map] [data-cell]", { timeout: 60_000 });
    const { block, finalised } = await shown(page);
    const at = { blockTag: block };

    // Every registered coverage device, by its cell.
    const registered = await registry.queryFilter(registry.filters.DeviceRegistered(), deployment.block, block);
    const coverage = registered.filter((e) => Number(e.args.resourceClass) === ResourceClass.Coverage);
    expect(coverage.length).to.be.greaterThan(0);
    expect(Number(await page.getAttribute("[data-testid=coverage-map]", "data-devices"))).to.equal(coverage.length);
    const counts = await page.$$eval("[data-testid=coverage-map] [data-cell]", (cells) =>
      cells.map((c) => Number(c.getAttribute("data-count"))),
    );
    expect(counts.reduce((s, n) => s + n, 0)).to.equal(coverage.length);

    // The emission chart's minted total is the distributor's, at the block shown.
    const minted = await distributor.totalMinted(at);
    expect(minted).to.be.greaterThan(0n);
    expect(await page.getAttribute("[data-testid=emission-chart]", "data-total-minted")).to.equal(minted.toString());

    // A device slashed but still active shows as slashed; a jailed one as jailed.
    const penalties = (await slashing.queryFilter(slashing.filters.FaultPenalised(), deployment.block, block)).filter(
      (p) => p.args.slashed > 0n,
    );
    expect(penalties.length).to.be.greaterThan(0);
    let checked = 0;
    for (const device of new Set(penalties.map((p) => p.args.device))) {
      const status = Number((await registry.getDevice(device, at)).status);
      const expected = status === DeviceStatus.Jailed ? "jailed" : status === DeviceStatus.Active ? "slashed" : null;
      if (expected === null) continue;
      await page.fill("[data-testid=device-search]", device);
      const row = page.locator(`[data-device="${device}"]`);
      await row.waitFor({ timeout: 10_000 });
      expect(await row.getAttribute("data-state"), device).to.equal(expected);
      checked++;
    }
    expect(checked).to.be.greaterThan(0);
    await page.fill("[data-testid=device-search]", "");
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: path.join(ARTIFACTS, "explorer-laptop.png") });
    await page.screenshot({ path: path.join(ARTIFACTS, "explorer-laptop-full.png"), fullPage: true });

    // A phone-width screen shows the same page without horizontal overflow of the page itself.
    const phone = await browser.newPage({ viewport: { width: 375, height: 812 }, deviceScaleFactor: 2 });
    await phone.goto(url);
    await phone.waitForSelector("[data-testid=coverage-map] [data-cell]", { timeout: 60_000 });
    const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).to.be.at.most(1);
    await phone.screenshot({ path: path.join(ARTIFACTS, "explorer-phone.png") });

    // The network goes on: the page shows the next finalised epoch without a reload.
    await page.waitForFunction(
      (before) => Number(document.querySelector("[data-testid=epochs-table]")?.getAttribute("data-finalised")) > before,
      finalised,
      { timeout: 180_000, polling: 1_000 },
    );
    const later = await shown(page);
    expect(later.finalised).to.be.greaterThan(finalised);
    expect(later.block).to.be.greaterThan(block);
    provider.destroy();
  });
});
