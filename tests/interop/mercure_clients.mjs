#!/usr/bin/env node
// SPDX-License-Identifier: MIT
//
// Mercure compatibility with real clients: the npm package `eventsource` (in Node) and
// headless Chromium's EventSource, against hubs with --publisher-key, --subscriber-key and
// --subscriptions. Publishing is done the way Symfony's Mercure component does it: a
// plain application/x-www-form-urlencoded POST with `Authorization: Bearer JWT` (topic,
// data, private=on). JWTs are HS256, made here with node:crypto's HMAC.
//
// Usage: node tests/interop/mercure_clients.mjs PATH/TO/ssehub
//   (run `npm ci` in tests/interop once first; CHROMIUM overrides /usr/bin/chromium)
// Cases, for each client: public and private updates on a URI-template subscription
// (private ones only with a matching mercure.subscribe), and presence events (a watcher
// with the right claim sees another client subscribe and leave, with its JWT payload).
// Also a Mercure 1.0 (draft-08) subscription: match= and last_event_id=.
// Chromium also: a page on an allowed origin (--cors-origin) subscribes cross-origin with
// its mercureAuthorization cookie (withCredentials). Prints PASS/FAIL per case; exit 0 when
// all pass and the hubs exit 0 on SIGTERM with no sanitizer report.

import { createHmac } from 'node:crypto';
import process from 'node:process';
import { setTimeout as sleep } from 'node:timers/promises';

import { CaseError, RUN_BUDGET_MS, WAIT_MS, fail, hubPath, recorderLib, show, startHub, stopHub, waitFor } from './hublib.mjs';
import { PAGE_TIMEOUT_MS, launchChromium } from './chromium.mjs';

const SCRIPT = 'mercure_clients.mjs';
const PUB_KEY = 'interop-publisher-key-0123456789abcdef';
const SUB_KEY = 'interop-subscriber-key-0123456789abcdef';
const PRESENCE = '/.well-known/mercure/subscriptions{/topic}{/subscriber}';

const b64url = (buf) => Buffer.from(buf).toString('base64url');

function jwtHS256(claims, key) {
    const input = `${b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }))}.${b64url(JSON.stringify(claims))}`;
    return `${input}.${createHmac('sha256', key).update(input).digest('base64url')}`;
}

const PUBLISHER = jwtHS256({ mercure: { publish: ['*'] } }, PUB_KEY);

// A Symfony-style publish: form body, Bearer token. Returns the id.
async function mercurePublish(hub, fields) {
    const body = new URLSearchParams();
    for (const [k, v] of Object.entries(fields)) if (v !== undefined) body.append(k, String(v));
    const res = await fetch(hub.endpoint, {
        method: 'POST',
        headers: { Authorization: `Bearer ${PUBLISHER}`, 'Content-Type': 'application/x-www-form-urlencoded' },
        body: body.toString(),
        signal: AbortSignal.timeout(WAIT_MS),
    });
    const text = await res.text();
    if (res.status !== 200) fail(`publish ${show(fields)}: HTTP ${res.status}: ${text.trim()}`);
    return text;
}

const url = (hub, topics, extra = {}) => {
    const q = new URLSearchParams();
    for (const t of topics) q.append('topic', t);
    for (const [k, v] of Object.entries(extra)) q.append(k, v);
    return `${hub.endpoint}?${q}`;
};

const datas = (st) => st.events.map((e) => e.data);

// 1. URI template subscription; public and private updates; tokens in the query string.
async function casePrivate({ hub, client, tag }) {
    const base = `https://interop.test/${tag}/${process.pid}/books`;
    const allowed = jwtHS256({ mercure: { subscribe: [`${base}/{id}`] } }, SUB_KEY);
    const other = jwtHS256({ mercure: { subscribe: ['https://elsewhere.test/{x}'] } }, SUB_KEY);
    await client.open('anon', url(hub, [`${base}/{id}`]), ['message']);
    await client.open('auth', url(hub, [`${base}/{id}`], { authorization: allowed }), ['message']);
    await client.open('other', url(hub, [`${base}/{id}`], { authorization: other }), ['message']);
    for (const k of ['anon', 'auth', 'other'])
        await waitFor(`${k} open`, () => client.state(k), (s) => s.opens >= 1);
    await mercurePublish(hub, { topic: `${base}/1`, data: 'public' });
    await mercurePublish(hub, { topic: `${base}/2`, data: 'private', private: 'on' });
    await mercurePublish(hub, { topic: `https://interop.test/${tag}/authors/1`, data: 'not selected' });
    await mercurePublish(hub, { topic: `${base}/3`, data: 'end' });
    const want = { anon: ['public', 'end'], auth: ['public', 'private', 'end'], other: ['public', 'end'] };
    for (const [k, w] of Object.entries(want)) {
        await waitFor(`${k}: ${w.length} events`, () => client.state(k), (s) => s.events.length >= w.length);
        await sleep(100);
        const got = datas(await client.state(k));
        if (JSON.stringify(got) !== JSON.stringify(w)) fail(`${k}: got ${show(got)}, want ${show(w)}`);
    }
    return 'the template matched; the private update reached only the authorised subscriber';
}

// 2. Presence: a watcher sees a client arrive and leave, with its payload.
async function casePresence({ hub, client, tag }) {
    const watch = jwtHS256({ mercure: { subscribe: [PRESENCE] } }, SUB_KEY);
    const visitor = jwtHS256({ mercure: { subscribe: [], payload: { name: `visitor-${tag}` } } }, SUB_KEY);
    const topic = `https://interop.test/${tag}/${process.pid}/room`;
    await client.open('watch', url(hub, [PRESENCE], { authorization: watch }), ['message']);
    await waitFor('watcher open', () => client.state('watch'), (s) => s.opens >= 1);
    await client.open('visitor', url(hub, [topic], { authorization: visitor }), ['message']);
    const mine = (s, active) => s.events.map((e) => JSON.parse(e.data))
        .filter((d) => d.topic === topic && d.active === active);
    await waitFor('the arrival', () => client.state('watch'), (s) => mine(s, true).length >= 1);
    const arrived = mine(await client.state('watch'), true)[0];
    if (arrived.type !== 'Subscription' || arrived['@context'] !== 'https://mercure.rocks/' ||
        !arrived.subscriber.startsWith('urn:uuid:') || arrived.payload?.name !== `visitor-${tag}`)
        fail(`arrival: ${show(arrived, 600)}`);
    const res = await fetch(`${hub.endpoint}/subscriptions`,
        { headers: { Authorization: `Bearer ${watch}` }, signal: AbortSignal.timeout(WAIT_MS) });
    const list = await res.json();
    if (res.status !== 200 || list.type !== 'Subscriptions' || !list.subscriptions.some((x) => x.subscriber === arrived.subscriber))
        fail(`GET subscriptions: ${res.status} ${show(list, 600)}`);
    await client.close('visitor');
    await waitFor('the departure', () => client.state('watch'), (s) => mine(s, false).length >= 1);
    return `arrival and departure of ${arrived.subscriber}`;
}

// 3. A Mercure 1.0 subscription beside draft-07 publishers: match= is exact (a URI template
// given as match= is a topic like any other), and a new EventSource resumes with
// last_event_id= in its URL.
async function caseDraft08({ hub, client, tag }) {
    const base = `https://interop.test/${tag}/${process.pid}/v1/books`;
    const q = (pairs) => `${hub.endpoint}?${new URLSearchParams(pairs)}`;
    await client.open('m08', q([['match', `${base}/1`], ['match', `${base}/{id}`]]), ['message']);
    await waitFor('m08 open', () => client.state('m08'), (s) => s.opens >= 1);
    await mercurePublish(hub, { topic: `${base}/1`, data: 'one' });
    await mercurePublish(hub, { topic: `${base}/2`, data: 'not selected' });
    await mercurePublish(hub, { topic: `${base}/{id}`, data: 'literal' });
    await mercurePublish(hub, { topic: `${base}/1`, data: 'end' });
    await waitFor('m08: 3 events', () => client.state('m08'), (s) => s.events.length >= 3);
    await sleep(100);
    const st = await client.state('m08');
    if (JSON.stringify(datas(st)) !== JSON.stringify(['one', 'literal', 'end']))
        fail(`match= got ${show(datas(st))}`);
    await client.open('resume', q([['match', `${base}/1`], ['last_event_id', st.events[0].lastEventId]]), ['message']);
    await waitFor('resume: 1 event', () => client.state('resume'), (s) => s.events.length >= 1);
    await sleep(100);
    const rs = await client.state('resume');
    if (JSON.stringify(datas(rs)) !== JSON.stringify(['end'])) fail(`last_event_id resume got ${show(datas(rs))}`);
    return 'exact match= selectors, and a resume from last_event_id';
}

// 4 (Chromium). A page on an allowed origin subscribes to another hub with its cookie.
async function caseCookieCrossOrigin({ hub, page, cookieHub }) {
    const topic = `https://interop.test/cookie/${process.pid}/{id}`;
    const tok = jwtHS256({ mercure: { subscribe: [topic] } }, SUB_KEY);
    // Cookies are per host, not per port: one set on the page's host goes to both hubs.
    await page.context().addCookies([{ name: 'mercureAuthorization', value: tok, domain: '127.0.0.1', path: '/' }]);
    await page.evaluate(([u]) => {
        window.__ck = { events: [], opens: 0, errors: 0 };
        const es = new EventSource(u, { withCredentials: true });
        es.onopen = () => window.__ck.opens++;
        es.onerror = () => window.__ck.errors++;
        es.onmessage = (e) => window.__ck.events.push(e.data);
        window.__ckes = es;
    }, [url(cookieHub, [topic])]);
    const st = () => page.evaluate(() => window.__ck);
    await waitFor('cross-origin open', st, (s) => s.opens >= 1 || s.errors >= 1);
    if ((await st()).opens < 1) fail(`a page of ${hub.origin} could not open a credentialed stream of ${cookieHub.origin}`);
    await mercurePublish(cookieHub, { topic: topic.replace('{id}', '1'), data: 'secret by cookie', private: 'on' });
    await waitFor('the private event', st, (s) => s.events.length >= 1);
    await page.evaluate(() => window.__ckes.close());
    return `cookie-authorised private update across origins (${hub.origin} -> ${cookieHub.origin})`;
}

async function run(cases, ctx, name, results) {
    for (const c of cases) {
        const t = Date.now();
        try {
            const detail = await c.run(ctx);
            results.passed++;
            console.log(`PASS ${c.name} [${name}] (${Date.now() - t} ms): ${detail}`);
        } catch (e) {
            results.failed.push(`${c.name} [${name}]`);
            const msg = e instanceof CaseError ? e.message : (e.stack || String(e));
            console.log(`FAIL ${c.name} [${name}]\n    ${msg.replace(/\n/g, '\n    ')}`);
        } finally {
            await ctx.client?.closeAll().catch(() => {});
        }
    }
}

async function main() {
    const bin = hubPath(process.argv.slice(2), SCRIPT);
    const results = { passed: 0, failed: [] };
    const flags = ['--publisher-key', PUB_KEY, '--subscriber-key', SUB_KEY, '--subscriptions'];
    const hubs = [];
    let browser;
    const budget = setTimeout(() => {
        console.error(`${SCRIPT}: the run exceeded ${RUN_BUDGET_MS / 1000} s; giving up`);
        for (const h of hubs) h?.child?.kill('SIGKILL');
        process.exit(1);
    }, RUN_BUDGET_MS);
    budget.unref();
    const CASES = [
        { name: 'URI template subscription, public and private updates', run: casePrivate },
        { name: 'presence events and the subscriptions API', run: casePresence },
        { name: 'Mercure 1.0 subscription (match=, last_event_id)', run: caseDraft08 },
    ];
    try {
        const hub = await startHub(bin, flags, 'hub (keys, --subscriptions)');
        hubs.push(hub);
        const { EventSource } = await import('eventsource');
        const rec = recorderLib(EventSource);
        const nodeClient = {
            open: async (...a) => rec.open(...a), state: async (k) => rec.state(k),
            close: async (k) => rec.close(k), closeAll: async () => rec.closeAll(),
        };
        await run(CASES, { hub, client: nodeClient, tag: 'node' }, 'npm eventsource', results);

        const playwright = await import('playwright-core');
        browser = await launchChromium(playwright);
        const page = await browser.newPage();
        page.setDefaultTimeout(PAGE_TIMEOUT_MS); // every page action, page.goto included
        await page.goto(`${hub.origin}/healthz`);
        await page.evaluate(`window.__rec = (${recorderLib.toString()})(EventSource); 0`);
        const call = (fn, ...a) => page.evaluate(([f, args]) => window.__rec[f](...args), [fn, a]);
        const chromeClient = {
            open: (k, u, t) => call('open', k, u, t), state: (k) => call('state', k),
            close: (k) => call('close', k), closeAll: () => call('closeAll'),
        };
        const cookieHub = await startHub(bin, [...flags, '--cors-origin', hub.origin], 'hub (--cors-origin the page)');
        hubs.push(cookieHub);
        await run([...CASES, { name: 'cookie-authorised subscription from an allowed origin', run: caseCookieCrossOrigin }],
            { hub, client: chromeClient, tag: 'chromium', page, cookieHub }, `Chromium ${browser.version()}`, results);
    } catch (e) {
        results.failed.push('harness');
        console.log(`FAIL harness: ${e.stack || e}`);
    } finally {
        await browser?.close().catch(() => {});
        for (const h of hubs) {
            const problems = await stopHub(h);
            if (problems.length) {
                results.failed.push(`${h.label} shutdown`);
                console.log(`FAIL ${h.label} shutdown\n    ${problems.join('\n    ')}`);
            }
        }
    }
    console.log(`${SCRIPT}: ${results.passed} passed, ${results.failed.length} failed`);
    if (results.failed.length) console.log(`${SCRIPT}: FAILED: ${results.failed.join('; ')}`);
    process.exit(results.failed.length ? 1 : 0);
}

main();
