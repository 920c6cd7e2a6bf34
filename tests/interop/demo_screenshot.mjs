#!/usr/bin/env node
// SPDX-License-Identifier: MIT
//
// The demo page at "/" (src/server/ui/index.html), end to end in a real browser: headless
// Chromium (Debian package `chromium`, driven by the npm package playwright-core) against
// a real ssehub, then a full-page screenshot.
//
// Usage: node tests/interop/demo_screenshot.mjs PATH/TO/ssehub OUT.png
//   (run `npm ci` in tests/interop once first)
// Environment (optional): CHROMIUM, the browser binary (default /usr/bin/chromium).
// Exit status: 0 when every check passed and OUT.png was written; 1 on any failure (one
// line saying which step, then the hub's stderr); 2 on a usage error.
//
// Steps: start `ssehub --listen 127.0.0.1:0 --store memory --threads 1 --subscriptions` and read the port
// from its `listening on 127.0.0.1:PORT` line on stderr; open http://127.0.0.1:PORT/ at
// 1280x800; wait for #state to read OPEN; publish three updates through the page's form
// (a plain one that looks like HTML, a multi-line one, one with a custom event type),
// each time waiting for #publish-result to show the id the hub returned; wait for the
// three .event items and check their ids, types and data (newest first, data as text:
// the HTML must not become elements); wait for #subscribers to show a number >= 1; check
// that the page made no request off its own origin and threw no error; take the
// screenshot; stop the hub with SIGTERM: it must exit 0 with no sanitizer report.

import { spawn } from 'node:child_process';
import { mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import { CHROMIUM_PATH, PAGE_TIMEOUT_MS, launchChromium } from './chromium.mjs';

// Each wait for something to happen (playwright's actions and waits, the hub's start and
// stop): generous, for ASan on two busy cores; a wait ends as soon as its condition holds.
const WAIT_MS = PAGE_TIMEOUT_MS;
const RUN_BUDGET_MS = 270_000; // the whole run, below the ctest TIMEOUT (300 s)
const SANITIZER_RE = /ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|SUMMARY: \w+Sanitizer/;

const UPDATES = [
    { data: 'Hello from the demo page <b>not bold</b> & <script>alert(1)</script>', type: '' },
    { data: 'line one\nline two\n    indented line three\n\nafter a blank line', type: '' },
    { data: '{"order": 1042, "status": "shipped"}', type: 'order.updated' },
];

function usage(msg) {
    if (msg) process.stderr.write(`demo_screenshot: ${msg}\n`);
    process.stderr.write('usage: node tests/interop/demo_screenshot.mjs PATH/TO/ssehub OUT.png\n');
    process.exit(2);
}

class Failure extends Error {}
const fail = (msg) => {
    throw new Failure(msg);
};

// Starts the hub; resolves {child, port, stderr()} once it printed its port.
function startHub(bin) {
    // --subscriptions: the page's "Connected clients" card reads the subscriptions API.
    const args = ['--listen', '127.0.0.1:0', '--store', 'memory', '--threads', '1', '--subscriptions'];
    const child = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    const hub = { child, port: 0, stderr: () => err, exited: null };
    liveHub = hub;
    return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
            child.kill('SIGKILL');
            const tail = err.trim().split('\n').slice(-30).join('\n');
            reject(new Failure(`the hub did not print "listening on 127.0.0.1:PORT" within ${WAIT_MS} ms` +
                (tail ? `; its stderr:\n${tail}` : '')));
        }, WAIT_MS);
        child.on('error', (e) => {
            clearTimeout(timer);
            reject(new Failure(`cannot run ${bin}: ${e.message}`));
        });
        child.on('exit', (code, signal) => {
            hub.exited = { code, signal };
            clearTimeout(timer);
            const tail = err.trim().split('\n').slice(-30).join('\n');
            reject(new Failure(`the hub exited (${code ?? 'signal ' + signal}) before listening` +
                (tail ? `; its stderr:\n${tail}` : '')));
        });
        child.stderr.setEncoding('utf8');
        child.stderr.on('data', (s) => {
            err += s;
            if (err.length > 200_000) err = err.slice(-100_000);
            // The whole line: a read may end in the middle of the port.
            const m = /listening on 127\.0\.0\.1:(\d+)\r?\n/.exec(err);
            if (m && !hub.port) {
                hub.port = Number(m[1]);
                clearTimeout(timer);
                resolve(hub);
            }
        });
    });
}

// SIGTERM, then SIGKILL if it has not exited after WAIT_MS. Resolves the exit status.
function stopHub(hub) {
    return new Promise((resolve) => {
        if (hub.exited) return resolve(hub.exited);
        const kill = setTimeout(() => hub.child.kill('SIGKILL'), WAIT_MS);
        hub.child.once('exit', (code, signal) => {
            clearTimeout(kill);
            resolve({ code, signal });
        });
        hub.child.kill('SIGTERM');
    });
}

async function step(name, fn) {
    try {
        return await fn();
    } catch (e) {
        if (e instanceof Failure) throw e;
        throw new Failure(`${name}: ${e.message.split('\n')[0]}`);
    }
}

async function main() {
    const args = process.argv.slice(2);
    if (args.length !== 2 || args[0].startsWith('-')) usage();
    const bin = path.resolve(args[0]);
    const out = path.resolve(args[1]);
    try {
        if (!statSync(bin).isFile()) usage(`${bin} is not a file`);
    } catch (e) {
        usage(`cannot find ssehub at ${bin}: ${e.message}`);
    }

    let playwright;
    try {
        playwright = await import('playwright-core');
    } catch (e) {
        console.error(`demo_screenshot: cannot load playwright-core (run "npm ci" in tests/interop): ${e.message}`);
        process.exit(1);
    }

    let hub = null;
    let browser = null;
    let status = 0;
    try {
        hub = await startHub(bin);
        const origin = `http://127.0.0.1:${hub.port}`;
        const executablePath = CHROMIUM_PATH;
        browser = await step(`start Chromium at ${executablePath} (Debian package chromium)`, () =>
            launchChromium(playwright));
        const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
        page.setDefaultTimeout(WAIT_MS);

        const pageErrors = [];
        const foreign = [];
        page.on('pageerror', (e) => pageErrors.push(e.message));
        page.on('console', (m) => {
            // The browser's own request for /favicon.ico is not the page's doing.
            if (m.type() === 'error' && !/\/favicon\.ico$/.test(m.location()?.url || ''))
                pageErrors.push(`console: ${m.text()} (${m.location()?.url || 'no location'})`);
        });
        page.on('request', (r) => {
            const u = r.url();
            if (!u.startsWith(`${origin}/`) && !u.startsWith('data:')) foreign.push(u);
        });

        const res = await step(`open ${origin}/`, () => page.goto(`${origin}/`));
        if (!res || res.status() !== 200) fail(`GET / answered ${res ? res.status() : 'nothing'}, not 200`);
        const ctype = res.headers()['content-type'] || '';
        if (!/^text\/html\b/i.test(ctype)) fail(`GET / has Content-Type "${ctype}", not text/html`);
        const title = await page.title();
        if (!/ssehub/.test(title)) fail(`the page title is "${title}", not the ssehub demo page`);

        await step('wait for #state to read OPEN', () =>
            page.waitForFunction(() => document.querySelector('#state')?.textContent.trim() === 'OPEN'));
        const topic = await page.inputValue('#topic');
        if (topic !== 'demo') fail(`#topic is "${topic}", expected the default "demo"`);

        const ids = [];
        for (const [i, u] of UPDATES.entries()) {
            const n = i + 1;
            await step(`publish update ${n} through the form`, async () => {
                await page.fill('#data', u.data);
                await page.fill('#type', u.type);
                await page.click('#publish');
                // On success the page sets data-status="ok" and data-id (the returned id) on
                // #publish-result; "error" and the hub's reason otherwise.
                await page.waitForFunction((prev) => {
                    const r = document.querySelector('#publish-result');
                    return r && ((r.dataset.status === 'ok' && r.dataset.id !== prev) || r.dataset.status === 'error');
                }, ids[ids.length - 1]);
            });
            const r = await page.$eval('#publish-result', (e) => ({ status: e.dataset.status, id: e.dataset.id, text: e.textContent }));
            if (r.status !== 'ok') fail(`publish ${n}: #publish-result shows an error: ${r.text}`);
            if (!r.id || !r.text.includes(r.id)) fail(`publish ${n}: #publish-result does not show the id (text "${r.text}")`);
            if (ids.includes(r.id)) fail(`publish ${n}: the hub returned id "${r.id}" twice`);
            ids.push(r.id);
            // Wait for this update to be listed before the next, so their order is known.
            await step(`wait for update ${n} (id ${r.id}) in #events`, () =>
                page.waitForFunction((k) => document.querySelectorAll('#events .event').length >= k, n));
        }

        await step('wait for 3 .event items', () =>
            page.waitForFunction(() => document.querySelectorAll('#events .event').length === 3));
        const listed = await page.$$eval('#events .event', (items) => items.map((e) => ({
            id: e.dataset.id,
            type: e.querySelector('.event-type')?.textContent ?? null,
            data: e.querySelector('pre')?.textContent ?? null,
            elementsInData: e.querySelector('pre')?.children.length ?? -1,
        })));
        const expected = UPDATES.map((u, i) => ({ id: ids[i], type: u.type || 'message', data: u.data })).reverse();
        for (const [i, want] of expected.entries()) {
            const got = listed[i];
            const where = `#events item ${i + 1} (newest first)`;
            if (got.id !== want.id) fail(`${where}: data-id is ${JSON.stringify(got.id)}, expected ${JSON.stringify(want.id)}`);
            if (got.type !== want.type) fail(`${where}: type is ${JSON.stringify(got.type)}, expected ${JSON.stringify(want.type)}`);
            if (got.data !== want.data) fail(`${where}: data is ${JSON.stringify(got.data)}, expected ${JSON.stringify(want.data)}`);
            if (got.elementsInData !== 0) fail(`${where}: the data became HTML elements (not shown as text)`);
        }
        if (await page.$('#events b, #events script')) fail('received data was parsed as HTML');

        await step('wait for #subscribers to show a number >= 1', () =>
            page.waitForFunction(() => {
                const t = document.querySelector('#subscribers')?.textContent.trim() ?? '';
                return /^\d+$/.test(t) && Number(t) >= 1;
            }));
        await step('wait for #clients to list this page (topic demo) from the subscriptions API', () =>
            page.waitForFunction(() => [...document.querySelectorAll('#clients .client')]
                .some((c) => c.dataset.subscriber?.startsWith('urn:uuid:') &&
                    [...c.querySelectorAll('.client-topic')].some((t) => t.textContent === 'demo'))));
        const subscribers = (await page.textContent('#subscribers')).trim();
        const state = (await page.textContent('#state')).trim();
        if (state !== 'OPEN') fail(`#state reads ${state} after publishing, not OPEN`);

        if (foreign.length) fail(`the page requested resources off its origin: ${foreign.slice(0, 5).join(', ')}`);
        if (pageErrors.length) fail(`the page reported errors: ${pageErrors.slice(0, 5).join(' | ')}`);

        mkdirSync(path.dirname(out), { recursive: true });
        await step(`take the screenshot ${out}`, () => page.screenshot({ path: out, fullPage: true }));
        console.log(`demo_screenshot: ${bin} on port ${hub.port}, Chromium ${browser.version()}: ` +
            `state OPEN, 3 updates published and listed (ids ${ids.join(', ')}), ${subscribers} subscriber(s)`);
        console.log(`demo_screenshot: wrote ${out}`);
    } catch (e) {
        status = 1;
        console.error(`demo_screenshot: FAIL: ${e instanceof Failure ? e.message : e.stack || e}`);
        if (hub) {
            if (hub.exited)
                console.error(`demo_screenshot: the hub exited during the test (${hub.exited.code ?? 'signal ' + hub.exited.signal})`);
            const tail = hub.stderr().trim().split('\n').slice(-30).join('\n');
            if (tail) console.error(`demo_screenshot: the hub's stderr (last lines):\n${tail}`);
        }
    } finally {
        if (browser) await browser.close().catch(() => {});
        if (hub) {
            const { code, signal } = await stopHub(hub);
            if (code === null && signal === 'SIGKILL') {
                console.error(`demo_screenshot: the hub did not exit within ${WAIT_MS / 1000} s of SIGTERM (killed)`);
                status = 1;
            } else if (code !== 0) {
                console.error(`demo_screenshot: the hub exited ${code ?? 'by signal ' + signal} after SIGTERM (expected 0)`);
                status = 1;
            }
            if (SANITIZER_RE.test(hub.stderr())) {
                const tail = hub.stderr().trim().split('\n').slice(-40).join('\n');
                console.error(`demo_screenshot: FAIL: sanitizer report from the hub:\n${tail}`);
                status = 1;
            }
        }
    }
    process.exit(status);
}

// The hub once started, so that no way out of this script leaves it running.
let liveHub = null;
function bail(msg) {
    console.error(`demo_screenshot: FAIL: ${msg}`);
    if (liveHub && !liveHub.exited) liveHub.child.kill('SIGKILL');
    process.exit(1);
}
const budget = setTimeout(() => bail(`the run exceeded ${RUN_BUDGET_MS} ms; giving up`), RUN_BUDGET_MS);
budget.unref();
process.on('SIGINT', () => bail('interrupted (SIGINT)'));
process.on('SIGTERM', () => bail('terminated (SIGTERM)'));

main().catch((e) => bail(e.stack || e));
