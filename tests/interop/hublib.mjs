// SPDX-License-Identifier: MIT
//
// Shared by hub_eventsource.mjs (the npm package `eventsource`, in Node) and
// hub_chromium.mjs (headless Chromium's EventSource): start ssehub, publish to it with
// fetch, and run the same cases against a real EventSource client.
//
// A client adapter is an object with async methods:
//   open(key, url, types)  create `new EventSource(url)` under |key|; record every event of
//                          each type in |types| (addEventListener) in one list, and what
//                          onmessage gets in another
//   state(key)             a snapshot: {events, onmessage, opens, errors, readyState,
//                          initialState}; events are {type, data, lastEventId} in dispatch
//                          order; errors holds readyState at each error event
//   close(key)             es.close(), then returns readyState
//   closeAll()             close every EventSource still open
// and makeClient(hub) returns one adapter per hub (Chromium: a page on that hub's origin).
//
// The recorder that runs next to the EventSource is recorderLib() below: the Node script
// calls it directly, the Chromium script evaluates its source in the page.

import { spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import { setTimeout as sleep } from 'node:timers/promises';

// Every wait for something to happen. Generous: under ASan on two busy cores things take
// ten times as long as on a quiet machine, and a wait for a condition ends when it comes.
export const WAIT_MS = 60_000;
// The whole run of a script, below the ctest TIMEOUT (tests/CMakeLists.txt) so that a run
// that hangs still prints which case it was in.
export const RUN_BUDGET_MS = 270_000;

export class CaseError extends Error {}

export function fail(msg) {
    throw new CaseError(msg);
}

// JSON with every character outside printable ASCII escaped, so spaces and line ends show.
export function show(v, max = 200) {
    const j = JSON.stringify(v)?.replace(/[^\x20-\x7e]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`) ?? String(v);
    return j.length > max ? `${j.slice(0, max)}... (${j.length} chars)` : j;
}

// ---- The recorder (runs where the EventSource lives: Node or the page) ------------------

export function recorderLib(ES) {
    const all = new Map();
    const msg = (e) => ({ type: e.type, data: e.data, lastEventId: e.lastEventId });
    return {
        open(key, url, types) {
            if (all.has(key)) throw new Error(`EventSource ${key} already exists`);
            const r = { es: new ES(url), events: [], onmessage: [], opens: 0, errors: [] };
            r.initialState = r.es.readyState;
            all.set(key, r);
            r.es.onmessage = (e) => r.onmessage.push(msg(e));
            for (const t of types) r.es.addEventListener(t, (e) => r.events.push(msg(e)));
            r.es.onopen = () => r.opens++;
            r.es.onerror = () => r.errors.push(r.es.readyState);
            return r.initialState;
        },
        state(key) {
            const r = all.get(key);
            if (!r) throw new Error(`no EventSource ${key}`);
            return {
                events: r.events.slice(), onmessage: r.onmessage.slice(), opens: r.opens,
                errors: r.errors.slice(), readyState: r.es.readyState, initialState: r.initialState,
            };
        },
        close(key) {
            const r = all.get(key);
            if (!r) throw new Error(`no EventSource ${key}`);
            r.es.close();
            return r.es.readyState;
        },
        closeAll() {
            for (const r of all.values()) r.es.close();
            all.clear();
        },
    };
}

// ---- The hub ----------------------------------------------------------------------------

export function hubPath(argv, script) {
    if (argv.length !== 1 || argv[0].startsWith('-')) {
        process.stderr.write(`usage: node tests/interop/${script} PATH/TO/ssehub\n`);
        process.exit(2);
    }
    const p = path.resolve(argv[0]);
    try {
        if (!statSync(p).isFile()) throw new Error('not a file');
    } catch (e) {
        process.stderr.write(`${script}: cannot use ssehub at ${p}: ${e.message}\n`);
        process.exit(2);
    }
    return p;
}

const SANITIZER_RE = /ERROR: (AddressSanitizer|LeakSanitizer|ThreadSanitizer|MemorySanitizer)|runtime error:|SUMMARY: \w+Sanitizer/;

// The store every hub of the suite uses: memory, or the SSEHUB_INTEROP_STORE environment
// variable (tests/interop/with_redis.py sets it to a redis:// URI: then runSuite starts a
// second node beside each hub, and the cases publish to it while their clients subscribe
// to the first, so every event crosses Redis).
export const STORE = process.env.SSEHUB_INTEROP_STORE || 'memory';

// Starts `ssehub --listen 127.0.0.1:0 --store STORE --threads 2 ...flags` and waits for its
// "listening on 127.0.0.1:PORT" line on stderr.
export async function startHub(bin, flags = [], label = 'hub') {
    const args = ['--listen', '127.0.0.1:0', '--store', STORE, '--threads', '2', ...flags];
    const env = { ...process.env };
    env.UBSAN_OPTIONS ??= 'print_stacktrace=1';
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
    const hub = { label, bin, args, child, stderr: '', stdout: '', exited: null };
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (s) => { hub.stdout += s; });
    const exited = new Promise((resolve) => child.on('exit', (code, signal) => {
        hub.exited = { code, signal };
        resolve(hub.exited);
    }));
    hub.exitPromise = exited;
    const port = await new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${label}: no "listening on" line within ${WAIT_MS} ms; stderr:\n${hub.stderr}`)), WAIT_MS);
        child.stderr.on('data', (s) => {
            hub.stderr += s;
            // The whole line: a read may end in the middle of the port.
            const m = /listening on 127\.0\.0\.1:(\d+)\r?\n/.exec(hub.stderr);
            if (m) {
                clearTimeout(timer);
                resolve(Number(m[1]));
            }
        });
        child.on('error', (e) => { clearTimeout(timer); reject(new Error(`${label}: cannot start ${bin}: ${e.message}`)); });
        exited.then((x) => { clearTimeout(timer); reject(new Error(`${label}: exited (${x.code ?? x.signal}) before listening; stderr:\n${hub.stderr}`)); });
    });
    hub.port = port;
    hub.origin = `http://127.0.0.1:${port}`;
    hub.endpoint = `${hub.origin}/.well-known/mercure`;
    return hub;
}

// SIGTERM, then the hub must exit 0 within WAIT_MS with no sanitizer report. Returns a list
// of problems (empty when all is well).
export async function stopHub(hub) {
    const problems = [];
    if (!hub || !hub.child) return problems;
    if (hub.exited === null) {
        hub.child.kill('SIGTERM');
        const r = await Promise.race([hub.exitPromise, sleep(WAIT_MS).then(() => null)]);
        if (r === null) {
            problems.push(`${hub.label}: did not exit within ${WAIT_MS} ms of SIGTERM; killed`);
            hub.child.kill('SIGKILL');
            await hub.exitPromise;
        } else if (r.code !== 0) {
            problems.push(`${hub.label}: exited with ${r.code !== null ? `status ${r.code}` : `signal ${r.signal}`} after SIGTERM (expected 0)`);
        }
    } else {
        problems.push(`${hub.label}: exited early (${hub.exited.code ?? hub.exited.signal}) before SIGTERM`);
    }
    if (SANITIZER_RE.test(hub.stderr)) problems.push(`${hub.label}: sanitizer report on stderr`);
    if (problems.length) problems.push(`${hub.label} stderr (last 6000 chars):\n${hub.stderr.slice(-6000)}`);
    return problems;
}

export function streamUrl(hub, topic, extra = '') {
    return `${hub.endpoint}?topic=${encodeURIComponent(topic)}${extra}`;
}

// POST a form; fields: {topic, data, id, type, retry}. Returns the id the hub answered.
// With a shared store, the form goes to the hub's publisher node (hub.peer).
export async function publish(hub, fields) {
    if (hub.peer) hub = hub.peer;
    const body = new URLSearchParams();
    for (const [k, v] of Object.entries(fields)) if (v !== undefined) body.append(k, String(v));
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), WAIT_MS);
    let res, text;
    try {
        res = await fetch(hub.endpoint, {
            method: 'POST',
            headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
            body: body.toString(),
            signal: ctl.signal,
        });
        text = await res.text();
    } catch (e) {
        const why = e.name === 'AbortError' ? `no answer within ${WAIT_MS} ms`
            : `${e.message}${e.cause ? ` (${e.cause.message || e.cause.code})` : ''}`;
        fail(`publish ${show(fields, 120)} to ${hub.label}: ${why}`);
    } finally {
        clearTimeout(timer);
    }
    if (res.status !== 200) fail(`publish ${show(fields, 120)}: HTTP ${res.status}: ${text.trim()}`);
    if (text === '') fail(`publish ${show(fields, 120)}: 200 with an empty body (expected the event's id)`);
    if (fields.id !== undefined && text !== String(fields.id))
        fail(`publish with id ${show(fields.id)}: the hub answered id ${show(text)}`);
    return text;
}

export async function metric(hub, name) {
    const res = await fetch(`${hub.origin}/metrics`, { signal: AbortSignal.timeout(WAIT_MS) });
    const text = await res.text();
    const m = new RegExp(`^${name} (\\d+)$`, 'm').exec(text);
    if (!m) fail(`/metrics has no ${name}`);
    return Number(m[1]);
}

// Polls |probe| (async, returns a value) until |done(value)|; fails after WAIT_MS with
// |what| and the last value, shown by |describe|.
export async function waitFor(what, probe, done, describe = (v) => show(v, 1500)) {
    const t0 = Date.now();
    let v;
    for (;;) {
        v = await probe();
        if (done(v)) return v;
        if (Date.now() - t0 > WAIT_MS) fail(`timed out after ${WAIT_MS} ms waiting for ${what}; last state: ${describe(v)}`);
        await sleep(25);
    }
}

// ---- Comparisons ------------------------------------------------------------------------

// |got| and |want| are lists of {type, data, lastEventId}: equal, or a failure that names
// the first difference.
export function expectEvents(label, got, want) {
    const same = (a, b) => a && b && a.type === b.type && a.data === b.data && a.lastEventId === b.lastEventId;
    let i = 0;
    while (i < got.length && i < want.length && same(got[i], want[i])) i++;
    if (i === got.length && i === want.length) return;
    fail(`${label}: got ${got.length} event(s), expected ${want.length}; first difference at #${i}:\n` +
        `      got:      ${got[i] ? show(got[i], 400) : '(none)'}\n` +
        `      expected: ${want[i] ? show(want[i], 400) : '(none)'}`);
}

const stateName = (s) => ['CONNECTING', 'OPEN', 'CLOSED'][s] ?? String(s);

// ---- The cases --------------------------------------------------------------------------

let topicSeq = 0;
function newTopic(name) {
    return `https://interop.test/${name}/${process.pid}-${Date.now()}-${++topicSeq}`;
}

const opened = (n = 1) => (s) => s.opens >= n;

// 1. Default 'message' events, lastEventId = the id the publish returned, in order.
async function caseMessages({ hub, client }) {
    const topic = newTopic('messages');
    await client.open('m', streamUrl(hub, topic), ['message']);
    await waitFor('the open event', () => client.state('m'), opened());
    const want = [];
    const tag = `${process.pid}${Date.now()}`;
    const pubs = [
        { data: 'first' },
        { data: 'second' },
        { data: 'third with an explicit id', id: `urn:interop:${tag}:3` },
        { data: 'fourth with retry', retry: 1000 },
        { data: 'fifth: "quotes" & = + % ?', id: `id with spaces ${tag}` },
        { data: '' },
        { data: 'seventh, Unicode: h\u00e9llo \u4e2d \u{1f600}', id: `\u00e9-${tag}` },
    ];
    for (const p of pubs) {
        const id = await publish(hub, { topic, ...p });
        want.push({ type: 'message', data: p.data, lastEventId: id });
    }
    const s = await waitFor(`${want.length} events`, () => client.state('m'), (x) => x.events.length >= want.length);
    await sleep(200); // anything extra would arrive now
    const s2 = await client.state('m');
    expectEvents('addEventListener("message")', s2.events, want);
    expectEvents('onmessage', s2.onmessage, want);
    if (s.opens !== 1) fail(`expected one open event, got ${s.opens} (errors at readyState ${show(s2.errors)})`);
    return `${want.length} events, ${pubs.filter((p) => p.id).length} with the publisher's id, the rest hub-assigned (e.g. ${want[0].lastEventId})`;
}

// 2. Custom types: addEventListener(type) gets them; onmessage does not.
async function caseTypes({ hub, client }) {
    const topic = newTopic('types');
    const types = ['alpha', 'beta-2', 'update.book', 't\u00e9st'];
    await client.open('t', streamUrl(hub, topic), ['message', ...types]);
    await waitFor('the open event', () => client.state('t'), opened());
    const plan = [
        { type: 'alpha', data: 'a1' },
        { data: 'plain 1' },
        { type: 'beta-2', data: 'b1' },
        { type: 'alpha', data: 'a2' },
        { type: 'update.book', data: '{"id":7}' },
        { type: 'message', data: 'explicit message type' },
        { type: 't\u00e9st', data: 'non-ASCII type' },
        { data: 'plain 2' },
        { type: 'not-listened', data: 'nobody listens to this type' },
        { data: 'plain 3' },
    ];
    const all = [];
    for (const p of plan) {
        const id = await publish(hub, { topic, ...p });
        all.push({ type: p.type ?? 'message', data: p.data, lastEventId: id });
    }
    const want = all.filter((e) => e.type !== 'not-listened');
    const wantOnMessage = all.filter((e) => e.type === 'message');
    await waitFor(`${want.length} events`, () => client.state('t'), (x) => x.events.length >= want.length && x.onmessage.length >= wantOnMessage.length);
    await sleep(200);
    const s = await client.state('t');
    expectEvents('typed listeners (in dispatch order)', s.events, want);
    expectEvents('onmessage (untyped and type "message" only)', s.onmessage, wantOnMessage);
    return `${want.length - wantOnMessage.length} typed + ${wantOnMessage.length} message events; onmessage got only the latter`;
}

// 3. Data with line breaks, leading spaces, empty lines arrives exactly.
async function caseData({ hub, client }) {
    const topic = newTopic('data');
    await client.open('d', streamUrl(hub, topic), ['message']);
    await waitFor('the open event', () => client.state('d'), opened());
    const big = Array.from({ length: 2000 }, (_, i) => `${' '.repeat(i % 5)}line ${i}${i % 7 === 0 ? '\n' : ''}`).join('\n');
    const datas = [
        // [published, expected] (expected differs only where the SSE format cannot carry it)
        ['  a\n\n  b\n', '  a\n\n  b\n'],
        ['trailing newline\n', 'trailing newline\n'],
        ['   ', '   '],
        ['x\n   \ny', 'x\n   \ny'],
        [' one leading space', ' one leading space'],
        ['\tleading tab\t', '\tleading tab\t'],
        ['\n', '\n'],
        ['\n\n', '\n\n'],
        ['', ''],
        ['\n  \n', '\n  \n'],
        ['data: injected\n\nid: 999\nevent: evil\n\nretry: 1', 'data: injected\n\nid: 999\nevent: evil\n\nretry: 1'],
        [': not a comment\n:\nx', ': not a comment\n:\nx'],
        ['a:b: c', 'a:b: c'],
        ['h\u00e9llo \u4e2d\u6587 \u{1f600}\n\u00a0nbsp', 'h\u00e9llo \u4e2d\u6587 \u{1f600}\n\u00a0nbsp'],
        ['u2028\u2028u2029\u2029u0085\u0085end', 'u2028\u2028u2029\u2029u0085\u0085end'],
        // SSE has no way to send CR: the hub splits lines on CRLF, CR and LF (PRODUCT.md §3:
        // one data: line per line of data), so a receiver sees LF.
        ['crlf\r\nline\rcr', 'crlf\nline\ncr'],
        [big, big],
    ];
    const want = [];
    for (const [pub, exp] of datas) {
        const id = await publish(hub, { topic, data: pub });
        want.push({ type: 'message', data: exp, lastEventId: id });
    }
    await waitFor(`${want.length} events`, () => client.state('d'), (x) => x.events.length >= want.length, (x) => `${x.events.length} events`);
    await sleep(200);
    const s = await client.state('d');
    expectEvents('data strings', s.events, want);
    return `${want.length} data strings arrived exactly (largest ${big.length} chars, ${big.split('\n').length} lines)`;
}

// 4. Resumption across streams the hub closes (--max-lifetime 1s, --retry 200). The first
// request asks for lastEventID=earliest (the topic is new, so that is nothing): until the
// client has an id of its own, a reconnection (no Last-Event-ID header yet) replays what it
// missed instead of losing it, however slow the machine; after that the header, which
// the hub prefers to the query parameter, resumes after the client's last event.
async function caseResume({ hubLife: hub, clientLife: client }) {
    const topic = newTopic('resume');
    const N = 60;
    const SPAN_MS = 4000;
    await client.open('r', streamUrl(hub, topic, '&lastEventID=earliest'), ['message']);
    await waitFor('the open event', () => client.state('r'), opened());
    const want = [];
    const t0 = Date.now();
    for (let i = 0; i < N; i++) {
        const data = `resume ${i + 1}/${N}`;
        const id = await publish(hub, { topic, data });
        want.push({ type: 'message', data, lastEventId: id });
        const next = t0 + ((i + 1) * SPAN_MS) / N;
        if (next > Date.now()) await sleep(next - Date.now());
    }
    const sAll = await waitFor(`all ${N} events`, () => client.state('r'), (x) => x.events.length >= N,
        (x) => `${x.events.length} events, ${x.opens} opens, last ${show(x.events.at(-1))}`);
    // Two more opens after the last event: the first of those streams then lived its whole
    // lifetime, so whatever it would wrongly replay has arrived. And two reconnections in all.
    const s = await waitFor('two more reconnections after the last event (--max-lifetime 1s)',
        () => client.state('r'), (x) => x.opens >= Math.max(sAll.opens + 2, 3),
        (x) => `${x.opens} opens (${sAll.opens} at the last event), errors at readyState ${show(x.errors)}`);
    const ids = s.events.map((e) => e.lastEventId);
    const dups = ids.filter((id, i) => ids.indexOf(id) !== i);
    if (dups.length) fail(`${dups.length} event(s) delivered twice, ids ${show(dups.slice(0, 10))}`);
    expectEvents(`the ${N} events across reconnections`, s.events, want);
    const reconnections = s.opens - 1;
    if (reconnections < 2)
        fail(`only ${reconnections} reconnection(s) (open events ${s.opens}); with --max-lifetime 1s expected >= 2`);
    if (s.errors.some((st) => st !== 0))
        fail(`an error event left readyState not CONNECTING: ${show(s.errors)} (the EventSource gave up reconnecting)`);
    return `${N} events in order, no loss, no repeat, over ${s.opens} connections (${reconnections} reconnections, ${s.errors.length} error events)`;
}

// 5. lastEventID query parameter on the first request (EventSource cannot set headers).
async function caseLastEventIdParam({ hub, client }) {
    const topic = newTopic('lastid');
    const want = [];
    for (let i = 1; i <= 5; i++) {
        const data = `history ${i}`;
        const id = await publish(hub, { topic, data });
        want.push({ type: 'message', data, lastEventId: id });
    }
    const url = streamUrl(hub, topic);
    await client.open('after2', `${url}&lastEventID=${encodeURIComponent(want[1].lastEventId)}`, ['message']);
    await client.open('none', url, ['message']);
    await client.open('earliest', `${url}&lastEventID=earliest`, ['message']);
    for (const k of ['after2', 'none', 'earliest'])
        await waitFor(`the open event of ${k}`, () => client.state(k), opened());
    for (let i = 6; i <= 7; i++) {
        const data = `live ${i}`;
        const id = await publish(hub, { topic, data });
        want.push({ type: 'message', data, lastEventId: id });
    }
    const expect = { after2: want.slice(2), none: want.slice(5), earliest: want };
    for (const [k, w] of Object.entries(expect))
        await waitFor(`${w.length} events on ${k}`, () => client.state(k), (x) => x.events.length >= w.length);
    await sleep(200);
    const labels = { after2: 'lastEventID=<id of event 2>', none: 'no lastEventID (no replay)', earliest: 'lastEventID=earliest' };
    for (const [k, w] of Object.entries(expect)) expectEvents(labels[k], (await client.state(k)).events, w);
    return 'lastEventID=<2nd id>: events 3..5 then live 6..7; no lastEventID: live only; earliest: 1..7';
}

// 6. readyState: CONNECTING at first, OPEN after open, CLOSED after close(); nothing after.
async function caseReadyState({ hub, client }) {
    await waitFor('no subscriber left from earlier cases (ssehub_subscribers_connected 0)',
        () => metric(hub, 'ssehub_subscribers_connected'), (n) => n === 0);
    const topic = newTopic('readystate');
    const initial = await client.open('s', streamUrl(hub, topic), ['message']);
    if (initial !== 0) fail(`readyState right after new EventSource() is ${stateName(initial)}, expected CONNECTING`);
    const s1 = await waitFor('the open event', () => client.state('s'), opened());
    if (s1.readyState !== 1) fail(`readyState after open is ${stateName(s1.readyState)}, expected OPEN`);
    await waitFor('the hub to count the subscriber', () => metric(hub, 'ssehub_subscribers_connected'), (n) => n === 1);
    const id = await publish(hub, { topic, data: 'before close' });
    await waitFor('the event', () => client.state('s'), (x) => x.events.length >= 1);
    const after = await client.close('s');
    if (after !== 2) fail(`readyState after close() is ${stateName(after)}, expected CLOSED`);
    await publish(hub, { topic, data: 'after close' });
    await sleep(500);
    const s2 = await client.state('s');
    if (s2.readyState !== 2) fail(`readyState 500 ms after close() is ${stateName(s2.readyState)}`);
    expectEvents('events (none after close())', s2.events, [{ type: 'message', data: 'before close', lastEventId: id }]);
    if (s2.errors.length) fail(`error event(s) after close(): readyState ${show(s2.errors)}`);
    if (s2.opens !== 1) fail(`${s2.opens} open events, expected 1`);
    await waitFor('the hub to notice the closed stream (ssehub_subscribers_connected back to 0)',
        () => metric(hub, 'ssehub_subscribers_connected'), (n) => n === 0);
    return 'CONNECTING -> OPEN -> CLOSED; nothing delivered after close(); the hub dropped the subscriber';
}

export const CASES = [
    { n: 1, name: 'default message events, lastEventId = publish id, in order', run: caseMessages },
    { n: 2, name: 'custom event types reach addEventListener(type), not onmessage', run: caseTypes },
    { n: 3, name: 'multi-line data, leading spaces, empty lines arrive exactly', run: caseData },
    { n: 4, name: 'resumption across --max-lifetime closes (Last-Event-ID on reconnect)', run: caseResume },
    { n: 5, name: 'lastEventID query parameter on first connect', run: caseLastEventIdParam },
    { n: 6, name: 'readyState CONNECTING/OPEN/CLOSED and close()', run: caseReadyState },
];

// Starts the two hubs, runs every case with a client per hub, stops the hubs, and exits
// 0 when every case passed and both hubs exited cleanly, 1 otherwise.
export async function runSuite({ script, clientName, bin, makeClient, extraCases = [], dispose = async () => {} }) {
    const t0 = Date.now();
    const failures = [];
    let passed = 0;
    let hub, hubLife;
    const clients = [];
    const budget = setTimeout(() => {
        console.error(`${script}: the run exceeded ${RUN_BUDGET_MS / 1000} s; giving up`);
        for (const h of [hub, hubLife, hub?.peer, hubLife?.peer]) h?.child?.kill('SIGKILL');
        process.exit(1);
    }, RUN_BUDGET_MS);
    budget.unref();
    try {
        hub = await startHub(bin, [], 'hub');
        hubLife = await startHub(bin, ['--max-lifetime', '1s', '--retry', '200'], 'hub --max-lifetime 1s --retry 200');
        if (STORE !== 'memory') {
            hub.peer = await startHub(bin, [], 'publisher node of hub');
            hubLife.peer = await startHub(bin, [], 'publisher node of hub --max-lifetime');
            console.log(`store ${STORE}: clients subscribe to one node, the cases publish to another`);
        }
        const client = await makeClient(hub);
        clients.push(client);
        const clientLife = await makeClient(hubLife);
        clients.push(clientLife);
        const ctx = { hub, hubLife, client, clientLife };
        for (const c of [...CASES, ...extraCases]) {
            const t = Date.now();
            try {
                const detail = await c.run(ctx);
                passed++;
                console.log(`PASS ${c.n}. ${c.name} [${clientName}] (${Date.now() - t} ms): ${detail}`);
            } catch (e) {
                const msg = e instanceof CaseError ? e.message : (e.stack || String(e));
                failures.push(`${c.n}. ${c.name}`);
                console.log(`FAIL ${c.n}. ${c.name} [${clientName}] (${Date.now() - t} ms)\n    ${msg.replace(/\n/g, '\n    ')}`);
            } finally {
                for (const cl of clients) await cl.closeAll().catch(() => {});
            }
        }
    } catch (e) {
        failures.push('harness');
        console.log(`FAIL harness: ${e.stack || e}`);
    } finally {
        await dispose().catch((e) => console.log(`note: closing the client: ${e.message}`));
        for (const h of [hub, hubLife, hub?.peer, hubLife?.peer]) {
            if (!h) continue;
            const problems = await stopHub(h);
            if (problems.length) {
                failures.push(`${h.label} shutdown`);
                console.log(`FAIL ${h.label} shutdown\n    ${problems.join('\n    ').replace(/\n/g, '\n    ')}`);
            }
        }
    }
    const total = CASES.length + extraCases.length;
    console.log(`${script}: ${clientName}, ${passed}/${total} cases passed, ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    console.log(`${passed} passed, ${failures.length} failed`);
    if (failures.length) console.log(`${script}: FAILED: ${failures.join('; ')}`);
    process.exit(failures.length ? 1 : 0);
}
