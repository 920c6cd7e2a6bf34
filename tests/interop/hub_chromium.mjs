#!/usr/bin/env node
// SPDX-License-Identifier: MIT
//
// ssehub against headless Chromium's EventSource (the Debian package `chromium`, driven by
// the npm package playwright-core, pinned in package.json; nothing is downloaded).
//
// Usage: node tests/interop/hub_chromium.mjs PATH/TO/ssehub
//   (run `npm ci` in tests/interop once first; CHROMIUM overrides /usr/bin/chromium)
// Starts two hubs on 127.0.0.1 (port 0): a plain one, and one with --max-lifetime 1s
// --retry 200 for the resumption case. For each hub, a page is opened on the hub's own
// origin (GET /healthz), so the EventSources are same-origin; the page creates them with
// page.evaluate and records their events in page variables, which the test polls.
// Publishes with fetch from Node (form POSTs). The cases are in hublib.mjs, shared with
// hub_eventsource.mjs; one more case here checks a cross-origin EventSource (CORS,
// default --cors-origin *). Each case prints PASS or FAIL; the hubs must exit 0 on SIGTERM
// with no sanitizer report. Exit status: 0 when all pass, 1 otherwise, 2 on a usage error.

import process from 'node:process';
import { setTimeout as sleep } from 'node:timers/promises';

import { expectEvents, fail, hubPath, publish, recorderLib, runSuite, streamUrl, waitFor } from './hublib.mjs';
import { CHROMIUM_PATH, PAGE_TIMEOUT_MS, launchChromium } from './chromium.mjs';

const SCRIPT = 'hub_chromium.mjs';

// 7 (Chromium only). A page on the plain hub's origin subscribes to the other hub: the
// hub's CORS headers (default --cors-origin *) must let the browser read the stream. That
// hub ends streams after 1 s: lastEventID=earliest (a new topic: nothing) makes a
// reconnection before the event arrived replay it rather than lose it; after it, the
// browser's Last-Event-ID header (which the hub prefers) keeps it from coming twice.
async function caseCrossOrigin({ hub, hubLife, client }) {
    const topic = `https://interop.test/cors/${process.pid}-${Date.now()}`;
    await client.open('x', streamUrl(hubLife, topic, '&lastEventID=earliest'), ['message']);
    await waitFor('the open event (cross-origin)', () => client.state('x'), (x) => x.opens >= 1 || x.readyState === 2);
    const s0 = await client.state('x');
    if (s0.readyState === 2)
        fail(`the browser refused the cross-origin stream from ${hubLife.origin} on a page of ${hub.origin} ` +
            '(readyState CLOSED): missing or wrong CORS headers');
    const id = await publish(hubLife, { topic, data: 'across origins' });
    await waitFor('the event', () => client.state('x'), (x) => x.events.length >= 1);
    await sleep(200);
    expectEvents('cross-origin events', (await client.state('x')).events, [{ type: 'message', data: 'across origins', lastEventId: id }]);
    return `a page of ${hub.origin} read a stream of ${hubLife.origin}`;
}

async function main() {
    const bin = hubPath(process.argv.slice(2), SCRIPT);
    let playwright;
    try {
        playwright = await import('playwright-core');
    } catch (e) {
        console.error(`${SCRIPT}: cannot load playwright-core (run "npm ci" in tests/interop): ${e.message}`);
        process.exit(1);
    }
    const executablePath = CHROMIUM_PATH;
    let browser;
    try {
        // playwright-core gives the browser a fresh temporary --user-data-dir, removed at close.
        browser = await launchChromium(playwright);
    } catch (e) {
        console.error(`${SCRIPT}: cannot start Chromium at ${executablePath} (Debian package chromium): ${e.message}`);
        process.exit(1);
    }
    const pageErrors = [];
    await runSuite({
        script: SCRIPT,
        clientName: `Chromium ${browser.version()}`,
        bin,
        makeClient: async (hub) => {
            const page = await browser.newPage();
            page.setDefaultTimeout(PAGE_TIMEOUT_MS); // every page action, page.goto included
            page.on('pageerror', (e) => pageErrors.push(`${hub.label}: ${e.message}`));
            const res = await page.goto(`${hub.origin}/healthz`);
            if (!res || res.status() !== 200) throw new Error(`GET ${hub.origin}/healthz in Chromium: ${res ? res.status() : 'no response'}`);
            await page.evaluate(`window.__rec = (${recorderLib.toString()})(EventSource); 0`);
            const call = (fn, ...a) => page.evaluate(([f, args]) => window.__rec[f](...args), [fn, a]);
            return {
                open: (key, url, types) => call('open', key, url, types),
                state: (key) => call('state', key),
                close: (key) => call('close', key),
                closeAll: () => call('closeAll'),
            };
        },
        extraCases: [{ n: 7, name: 'cross-origin EventSource (CORS, default --cors-origin *)', run: caseCrossOrigin }],
        dispose: async () => {
            if (pageErrors.length) console.log(`note: page errors: ${pageErrors.join('; ')}`);
            await browser.close();
        },
    });
}

main().catch((e) => {
    console.error(`${SCRIPT}: ${e.stack || e}`);
    process.exit(1);
});
