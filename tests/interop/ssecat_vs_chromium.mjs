#!/usr/bin/env node
// SPDX-License-Identifier: MIT
//
// Differential conformance test: `ssecat --parse` (ssehub's WHATWG event-stream parser)
// against a real browser's EventSource (headless Chromium from the Debian package
// `chromium`, driven by the npm package playwright-core).
//
// Usage: node tests/interop/ssecat_vs_chromium.mjs PATH/TO/ssecat [CASE_DIR]
//   (run `npm ci` in tests/interop once first; CASE_DIR: every *.sse file in it is a case)
// Environment (all optional):
//   CHROMIUM              the browser binary (default /usr/bin/chromium)
//   SSEHUB_INTEROP_SEED   seed of the random streams (default 20240601)
//   SSEHUB_INTEROP_RANDOM how many random streams (default 300)
//   SSEHUB_INTEROP_ONLY   run only the cases whose name contains this string
//   SSEHUB_INTEROP_CASE_TIMEOUT_MS  how long one case may take in the browser (60000)
//   SSEHUB_INTEROP_BUDGET_MS        how long the whole run may take (840000; the ctest
//                                   TIMEOUT is 900 s: ASan ssecat, 450 times, on a busy
//                                   machine takes minutes)
// Exit status: 0 when Chromium and ssecat agree on every case, 1 on any disagreement or
// harness failure (each is printed with the input's hex), 2 on a usage error.
//
// Cases: the *.sse files of CASE_DIR, a built-in list of hand-written tricky streams, and
// seeded random streams built from tokens, all as raw bytes. A node http server on
// 127.0.0.1 serves case N at /case/N: the first request gets 200 text/event-stream with
// the bytes (in one write, or in several spaced writes for the chunked cases) and the
// response ends; any later request for the same case (a reconnection) gets 204, which
// makes EventSource close for good. One Chromium page opens `new EventSource('/case/N')`
// for each case in turn, listens for every event type the case can dispatch (the types
// ssecat reported plus a crude scan of the stream's event fields, plus "message"), and
// records {type, data, lastEventId} of each MessageEvent in dispatch order. The case is
// over at the first error event: the stream ended and readyState is CONNECTING (the page
// then closes the EventSource rather than wait seconds for the browser's reconnection;
// a few cases with a small retry field wait for the 204 and readyState CLOSED instead,
// to check that path). The same bytes go to `ssecat --parse` on stdin (same chunks, same
// spacing); its event lines (retry lines are ignored: browsers do not expose them) must
// equal Chromium's list, and it must exit 0. The ssecat runs (a few at a time) go on
// while the browser works through the cases, each case waiting for its own ssecat result.
//
// One known Chromium deviation from the WHATWG algorithm: when the stream's leading UTF-8
// BOM is directly followed by CR or LF, Chromium takes that line break as part of the
// first line (so "\uFEFF\ndata: x\n\n" becomes the unknown field "\ndata", nothing is
// dispatched), whereas the algorithm strips the BOM and then reads an empty line. For
// such a stream, ssecat is compared with what Chromium does on the same stream without
// its leading BOM, which the algorithm makes equivalent (that stream is served as an
// extra case just before). Where Chromium's two results differ, a NOTE line says so.

import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import process from 'node:process';
import { setTimeout as sleep } from 'node:timers/promises';
import { CHROMIUM_PATH, launchChromium } from './chromium.mjs';

// Deadlines only, never speeds: generous for ASan on two busy cores (ten times a quiet run).
const RUN_BUDGET_MS = Number(process.env.SSEHUB_INTEROP_BUDGET_MS || 840_000); // the whole run
const CASE_TIMEOUT_MS = Number(process.env.SSEHUB_INTEROP_CASE_TIMEOUT_MS || 60_000); // one case in the browser
const SSECAT_TIMEOUT_MS = 60_000; // one ssecat run
const CHUNK_GAP_MS = 40; // between the writes of a chunked case

function usage(msg) {
    if (msg) process.stderr.write(`ssecat_vs_chromium: ${msg}\n`);
    process.stderr.write('usage: node tests/interop/ssecat_vs_chromium.mjs PATH/TO/ssecat [CASE_DIR]\n');
    process.exit(2);
}

// ---- Cases ---------------------------------------------------------------------------

// A Buffer from parts: strings are UTF-8 encoded (never use lone surrogates in them),
// arrays and Buffers are raw bytes.
function B(...parts) {
    return Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : Buffer.from(p))));
}

const BOM = [0xef, 0xbb, 0xbf];

// Each case: {name, chunks: [Buffer...], waitClosed?: true}. A single chunk is one write.
function handWrittenCases() {
    const c = [];
    const add = (name, ...parts) => c.push({ name, chunks: [B(...parts)] });
    const addChunked = (name, ...chunks) => c.push({ name, chunks: chunks.map((ch) => B(...[].concat(ch))) });

    add('basic', 'data: hello\n\n');
    add('two events', 'data: a\n\ndata: b\n\n');
    add('multi-line data', 'data: a\ndata: b\ndata: c\n\n');
    add('empty stream');
    add('only LF', '\n');
    add('only blank lines', '\n\n\r\n\r\r\n');
    // BOM
    add('BOM', BOM, 'data: x\n\n');
    add('BOM then event field', BOM, 'event: e\ndata: x\n\n');
    add('BOM then comment', BOM, ':c\ndata: x\n\n');
    add('second BOM', BOM, BOM, 'data: x\n\ndata: y\n\n');
    add('BOM not at start', 'data: a\n\n', BOM, 'data: b\n\n');
    add('BOM inside data value', 'data: ', BOM, 'x\n\n');
    add('partial BOM EF BB', [0xef, 0xbb], 'data: x\n\ndata: y\n\n');
    add('partial BOM EF', [0xef], 'data: x\n\ndata: y\n\n');
    add('partial BOM then LF', [0xef, 0xbb], '\ndata: y\n\n');
    add('BOM only', BOM);
    add('BOM then LF (Chromium deviation)', BOM, '\ndata: x\n\n');
    add('BOM then CRLF (Chromium deviation)', BOM, '\r\ndata: x\n\n');
    add('BOM then CR (Chromium deviation)', BOM, '\rdata: x\n\n');
    // Line endings
    add('CR only', 'data: a\rdata: b\r\r');
    add('CRLF only', 'data: a\r\ndata: b\r\n\r\n');
    add('LF only', 'data: a\ndata: b\n\n');
    add('mixed CR LF CRLF', 'data: a\r\n\rdata: b\n\r\ndata: c\rdata: d\r\n\n');
    add('LF CR is two line ends', 'data: a\n\rdata: b\n\n');
    add('CR CR LF', 'data: a\r\r\ndata: b\n\n');
    add('lone CR at end dispatches', 'data: a\n\r');
    add('lone CR at end after CR', 'data: a\r\r');
    add('CR at end, no blank line', 'data: a\r');
    add('CRLF at end', 'data: a\r\n\r\n');
    add('leading CRLF', '\r\ndata: a\r\n\r\n');
    // Comments and fields
    add('comments', ': comment\ndata: x\n: another\n\n');
    add('comment only', ':\n\n: x\n\n');
    add('comment with field-like text', ':data: x\n\ndata: y\n\n');
    add('field without colon', 'data\n\n');
    add('two fields without colon', 'data\ndata\n\n');
    add('data without colon after data', 'data: a\ndata\n\n');
    add('data two spaces', 'data:  x\n\n');
    add('data no space', 'data:x\n\n');
    add('data tab', 'data:\tx\n\n');
    add('data trailing spaces', 'data: x  \n\n');
    add('data colon in value', 'data: a:b: c\n\n');
    add('space before colon', 'data :x\n\ndata: y\n\n');
    add('leading space before name', ' data: x\n\ndata: y\n\n');
    add('unknown fields', 'foo: bar\nfoo\ndata: x\nbar:\n\n');
    add('case-sensitive names', 'Data: x\nDATA: y\nEvent: e\nID: 1\nRetry: 5\ndata: z\n\n');
    add('empty field name', ': x\n:\ndata: z\n\n');
    // Event type
    add('event type', 'event: add\ndata: 1\n\n');
    add('event type reset', 'event: a\ndata: 1\n\ndata: 2\n\n');
    add('event type reset without dispatch', 'event: a\n\ndata: 2\n\n');
    add('event type last wins', 'event: a\nevent: b\ndata: 1\n\n');
    add('event without colon', 'event: a\nevent\ndata: 1\n\n');
    add('event empty', 'event:\ndata: 1\n\n');
    add('event message explicit', 'event: message\ndata: 1\n\n');
    add('event named error', 'event: error\ndata: 1\n\ndata: 2\n\n');
    add('event named open', 'event: open\ndata: 1\n\ndata: 2\n\n');
    add('event two spaces', 'event:  a\ndata: 1\n\n');
    add('event non-ASCII', 'event: \u00e9\u4e2d\u{1f600}\ndata: 1\n\n');
    add('event with NUL', 'event: a\0b\ndata: 1\n\n');
    add('event with invalid UTF-8', 'event: a', [0xff], 'b\ndata: 1\n\n');
    add('event after data', 'data: 1\nevent: late\n\n');
    // Last event ID
    add('id', 'id: 1\ndata: a\n\n');
    add('id persistence', 'id: 1\ndata: a\n\ndata: b\n\n');
    add('id reset without colon', 'id: 1\ndata: a\n\nid\ndata: b\n\n');
    add('id reset empty', 'id: 1\ndata: a\n\nid:\ndata: b\n\n');
    add('id with NUL ignored', 'id: 1\ndata: a\n\nid: 2\0x\ndata: b\n\n');
    add('id only NUL ignored', 'id: 1\ndata: a\n\nid: \0\ndata: b\n\n');
    add('id set without dispatch', 'id: 5\n\ndata: x\n\n');
    add('id after data same event', 'data: x\nid: 7\n\n');
    add('id pending at end not applied', 'id: 1\ndata: a\n\nid: 2\n');
    add('id spaces', 'id:  7 \ndata: x\n\n');
    add('id non-ASCII', 'id: \u00e9\u4e2d\ndata: x\n\n');
    add('id invalid UTF-8', 'id: ', [0xc3], '\ndata: x\n\n');
    add('id last wins', 'id: 1\nid: 2\ndata: x\n\n');
    // Retry: not visible in the browser, but must not disturb the events around it.
    add('retry forms', 'retry: 1000\ndata: a\n\nretry:1000\nretry: 10a\nretry: -1\nretry:\nretry\nretry: 99999999999999999999999\nretry:  5\ndata: b\n\n');
    c.push({ name: 'retry small then reconnect gets 204', chunks: [B('retry: 10\ndata: x\n\n')], waitClosed: true });
    c.push({ name: 'retry 0 then reconnect gets 204', chunks: [B('retry: 0\nid: 3\ndata: x\n\n')], waitClosed: true });
    // Data
    add('empty data', 'data:\n\n');
    add('empty data two lines', 'data:\ndata:\n\n');
    add('trailing LF removal', 'data: a\ndata:\n\n');
    add('data only spaces', 'data:  \n\n');
    add('no data no dispatch', 'event: a\nid: 1\n\n');
    add('pending event at end', 'data: a\n\ndata: b');
    add('pending event at end with LF', 'data: a\n\ndata: b\n');
    add('multiple blank lines', 'data: x\n\n\n\n');
    add('NUL in data', 'data: a\0b\n\n');
    add('NUL only data', 'data:\0\n\n');
    add('control chars in data', 'data: \x01\x0b\x0c\x1b\x7f\n\n');
    add('Unicode line separators are not line ends', 'data: a\u2028b\u2029c\u0085d\n\n');
    // UTF-8
    add('valid 2/3/4-byte chars', 'data: \u00e9 \u4e2d \u{1f600} \u{10ffff}\n\n');
    add('lone continuation', 'data: ', [0x80], '\n\n');
    add('continuations', 'data: ', [0x80, 0xbf, 0x80], 'x\n\n');
    add('overlong C0 AF', 'data: ', [0xc0, 0xaf], '\n\n');
    add('overlong C1 BF', 'data: ', [0xc1, 0xbf], '\n\n');
    add('overlong E0 80 AF', 'data: ', [0xe0, 0x80, 0xaf], '\n\n');
    add('overlong F0 80 80 AF', 'data: ', [0xf0, 0x80, 0x80, 0xaf], '\n\n');
    add('surrogate ED A0 80', 'data: ', [0xed, 0xa0, 0x80], '\n\n');
    add('surrogate pair ED A0 BD ED B2 A9', 'data: ', [0xed, 0xa0, 0xbd, 0xed, 0xb2, 0xa9], '\n\n');
    add('above U+10FFFF F4 90 80 80', 'data: ', [0xf4, 0x90, 0x80, 0x80], '\n\n');
    add('F5..FF leads', 'data: ', [0xf5, 0x80, 0xf8, 0x88, 0x80, 0xfe, 0xff], '\n\n');
    add('truncated 2-byte before LF', 'data: a', [0xc3], '\n\n');
    add('truncated 3-byte before LF', 'data: a', [0xe2, 0x82], '\n\n');
    add('truncated 4-byte before LF', 'data: a', [0xf0, 0x9f, 0x98], '\n\n');
    add('truncated 3-byte before CR', 'data: a', [0xe4, 0xb8], '\rdata: b\r\r');
    add('truncated sequences between data lines', 'data: ', [0xe2], '\ndata: ', [0x82, 0xac], '\n\n');
    add('truncated then ASCII', 'data: ', [0xe2, 0x82], 'x', [0xf0, 0x9f], 'y\n\n');
    add('truncated before colon', 'data', [0xe2], ': x\n\ndata: y\n\n');
    add('invalid at end of stream', 'data: x\n\n', [0xe2, 0x82]);
    add('lone surrogate-ish mix', 'data: ', [0xed, 0x9f, 0xbf, 0xed, 0xa0], 'z', [0xee, 0x80, 0x80], '\n\n');
    add('max code point and after', 'data: ', [0xf4, 0x8f, 0xbf, 0xbf, 0xf4, 0x90], '\n\n');
    // Large
    add('long data line 100 KB', 'data: ', 'x'.repeat(100_000), '\n\n');
    add('long multi-byte data 100 KB', 'data: ', '\u4e2d'.repeat(35_000), '\n\n');
    add('long id 100 KB', 'id: ', 'i'.repeat(100_000), '\ndata: x\n\n');
    add('long event type 20 KB', 'event: ', 't'.repeat(20_000), '\ndata: x\n\n');
    add('long comment 100 KB', ':', 'c'.repeat(100_000), '\ndata: x\n\n');
    add('many data lines', 'data: line\n'.repeat(5_000), '\n');
    add('1000 events', Array.from({ length: 1000 }, (_, i) => `id: ${i}\nevent: e${i % 7}\ndata: ${i}\n\n`).join(''));
    add('10000 empty lines', '\n'.repeat(10_000), 'data: x\n\n');
    // Chunk boundaries: the same bytes arrive in several spaced writes, to both sides.
    addChunked('chunked CRLF split', 'data: a\r', '\ndata: b\r\n\r', '\n');
    addChunked('chunked CR then data', 'data: a\r', 'data: b\r\r');
    addChunked('chunked BOM split 1+2', [[0xef]], [[0xbb, 0xbf], 'data: x\n\n']);
    addChunked('chunked BOM split 2+1', [[0xef, 0xbb]], [[0xbf], 'data: x\n\n']);
    addChunked('chunked partial BOM', [[0xef, 0xbb]], 'data: x\n\ndata: y\n\n');
    addChunked('chunked multi-byte split', ['data: ', [0xe4, 0xb8]], [[0xad], '\n\n']);
    addChunked('chunked 4-byte split 1+3', ['data: ', [0xf0]], [[0x9f, 0x98, 0x80], '\n\n']);
    addChunked('chunked field name split', 'da', 'ta: x\n', '\n');
    addChunked('chunked colon split', 'data', ': x\n\n');
    addChunked('chunked space split', 'data:', ' x\n\n');
    addChunked('chunked blank line split', 'data: x\n', '\n');
    addChunked('chunked one byte at a time', ...Array.from(B('id: 1\r\nevent: e\r\ndata: \u00e9\r\n\r\n')).map((b) => [[b]]));
    return c;
}

// mulberry32: a small seeded PRNG, so a failing random case can be reproduced.
function prng(seed) {
    let a = seed >>> 0;
    return () => {
        a = (a + 0x6d2b79f5) >>> 0;
        let t = a;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
}

const TOKENS = [
    'data', 'data:', 'data: ', 'event:', 'event: ', 'id:', 'id', 'retry:', ':', ' ', 'x', 'y',
    '\u00e9', '\u4e2d', '\u{1f600}', '\r', '\n', '\r\n', '\0', BOM, [0x80], [0xc3], [0xe2],
    [0x82], [0xff], [0xed], [0xa0], [0xf0], [0x9f], '0', '1', '7', '42',
];
const LINE_ENDS = ['\n', '\r', '\r\n'];

const VALUE_TOKENS = TOKENS.filter((t) => !LINE_ENDS.includes(t));
const FIELD_STARTS = ['data: ', 'data: ', 'data: ', 'data: ', 'data:', 'data:', 'data', 'event: ', 'event: ',
    'event:', 'event', 'id: ', 'id: ', 'id:', 'id', 'retry: ', ':', 'x: ', '', BOM];

function randomCases(seed, count) {
    const rnd = prng(seed);
    const pick = (arr) => arr[Math.floor(rnd() * arr.length)];
    const cases = [];
    for (let i = 0; i < count; i++) {
        const parts = [];
        // Mostly line-shaped (a field start, a few value tokens, a line end) so events do
        // get dispatched, with blank lines and runs of raw tokens of any kind between.
        const lines = 1 + Math.floor(rnd() * 16);
        for (let j = 0; j < lines; j++) {
            const r = rnd();
            if (r < 0.3) {
                parts.push(pick(LINE_ENDS), pick(LINE_ENDS)); // often a blank line
            } else if (r < 0.88) {
                parts.push(pick(FIELD_STARTS));
                for (let k = Math.floor(rnd() * 5); k > 0; k--) parts.push(pick(VALUE_TOKENS));
                parts.push(pick(LINE_ENDS));
            } else {
                for (let k = 1 + Math.floor(rnd() * 6); k > 0; k--) parts.push(pick(TOKENS));
            }
        }
        if (rnd() < 0.85) parts.push(pick(LINE_ENDS), pick(LINE_ENDS));
        const bytes = B(...parts);
        // A third of them also arrive in two or three chunks cut at random byte offsets.
        let chunks = [bytes];
        if (bytes.length > 2 && rnd() < 0.33) {
            const cuts = [1 + Math.floor(rnd() * (bytes.length - 1)), 1 + Math.floor(rnd() * (bytes.length - 1))]
                .sort((x, y) => x - y);
            chunks = [bytes.subarray(0, cuts[0]), bytes.subarray(cuts[0], cuts[1]), bytes.subarray(cuts[1])]
                .filter((ch) => ch.length > 0);
        }
        cases.push({ name: `random #${i} (seed ${seed})`, chunks });
    }
    return cases;
}

function fileCases(dir) {
    let st;
    try {
        st = statSync(dir);
    } catch (e) {
        usage(`cannot read CASE_DIR ${dir}: ${e.message}`);
    }
    if (!st.isDirectory()) usage(`CASE_DIR ${dir} is not a directory`);
    return readdirSync(dir)
        .filter((f) => f.endsWith('.sse'))
        .sort()
        .map((f) => {
            const c = { name: `file ${f}`, chunks: [readFileSync(path.join(dir, f))] };
            // A NAME.jsonl beside it holds the expected ssecat output: its events are
            // checked against Chromium too.
            const jsonl = path.join(dir, f.replace(/\.sse$/, '.jsonl'));
            let text = null;
            try {
                text = readFileSync(jsonl);
            } catch {
                // no expected output for this case
            }
            if (text !== null) {
                c.expectedFile = path.basename(jsonl);
                c.expected = parseSsecatOutput({ code: 0, stdout: text, stderr: '' });
            }
            return c;
        });
}

// ---- ssecat ----------------------------------------------------------------------------

function runSsecat(bin, chunks) {
    return new Promise((resolve) => {
        const child = spawn(bin, ['--parse'], { stdio: ['pipe', 'pipe', 'pipe'] });
        const out = [];
        const err = [];
        let timedOut = false;
        const timer = setTimeout(() => {
            timedOut = true;
            child.kill('SIGKILL');
        }, SSECAT_TIMEOUT_MS);
        child.stdout.on('data', (d) => out.push(d));
        child.stderr.on('data', (d) => err.push(d));
        child.stdin.on('error', () => {}); // EPIPE if ssecat exits early: reported by its status
        child.on('error', (e) => {
            clearTimeout(timer);
            resolve({ spawnError: e.message });
        });
        child.on('close', (code, signal) => {
            clearTimeout(timer);
            resolve({ code, signal, timedOut, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString() });
        });
        (async () => {
            for (let i = 0; i < chunks.length; i++) {
                if (i > 0) await sleep(CHUNK_GAP_MS);
                child.stdin.write(chunks[i]);
            }
            child.stdin.end();
        })();
    });
}

const utf8Fatal = new TextDecoder('utf-8', { fatal: true });

// Turns ssecat's output into [[type, data, id], ...]; returns {events} or {error}.
function parseSsecatOutput(r) {
    if (r.spawnError) return { error: `cannot run ssecat: ${r.spawnError}` };
    if (r.timedOut) return { error: `ssecat did not finish within ${SSECAT_TIMEOUT_MS} ms` };
    if (r.code !== 0) return { error: `ssecat exited ${r.code ?? 'by signal ' + r.signal}: ${r.stderr.trim()}` };
    let text;
    try {
        text = utf8Fatal.decode(r.stdout);
    } catch {
        return { error: 'ssecat wrote invalid UTF-8' };
    }
    const events = [];
    const lines = text.split('\n');
    if (lines.pop() !== '') return { error: 'ssecat output does not end with a newline' };
    for (const line of lines) {
        let o;
        try {
            o = JSON.parse(line);
        } catch {
            return { error: `ssecat wrote a line that is not JSON: ${line.slice(0, 200)}` };
        }
        const keys = Object.keys(o).join(',');
        if (keys === 'retry' && Number.isInteger(o.retry) && o.retry >= 0) continue;
        if (keys !== 'event,data,id' || ![o.event, o.data, o.id].every((v) => typeof v === 'string'))
            return { error: `ssecat wrote an unexpected line: ${line.slice(0, 200)}` };
        events.push([o.event, o.data, o.id]);
    }
    return { events };
}

// Every type the stream may dispatch, a superset: a crude scan of its lines for event
// fields (after dropping any BOMs at line start), plus what ssecat reported, plus message.
function candidateTypes(bytes, ssecatEvents) {
    const types = new Set(['message']);
    const text = new TextDecoder('utf-8').decode(bytes); // decoding keeps a leading BOM out: fine
    for (let line of text.split(/\r\n|\r|\n/)) {
        line = line.replace(/^\ufeff+/, '');
        if (line.startsWith('event:')) {
            const v = line.slice(6);
            types.add(v.startsWith(' ') ? v.slice(1) : v);
        }
    }
    for (const ev of ssecatEvents || []) types.add(ev[0]);
    types.delete('');
    return [...types];
}

// ---- Browser side ----------------------------------------------------------------------

// Runs in the page: one EventSource, every MessageEvent of the given types in order.
async function runInPage({ url, types, timeoutMs, waitClosed }) {
    return await new Promise((resolve) => {
        const events = [];
        const errors = [];
        let opens = 0;
        const es = new EventSource(url);
        const record = (e) => {
            if (e instanceof MessageEvent) events.push([e.type, e.data, e.lastEventId]);
        };
        for (const t of types) es.addEventListener(t, record);
        const finish = (how) => {
            clearTimeout(timer);
            const state = es.readyState;
            es.close();
            resolve({ events, how, state, opens, errors });
        };
        es.addEventListener('open', (e) => {
            if (!(e instanceof MessageEvent)) opens++;
        });
        es.addEventListener('error', (e) => {
            if (e instanceof MessageEvent) return; // an event named "error" from the stream
            errors.push(es.readyState);
            // End of stream: CONNECTING (a reconnection is scheduled). After the 204: CLOSED.
            if (!waitClosed || es.readyState === EventSource.CLOSED) finish('error');
        });
        const timer = setTimeout(() => finish('timeout'), timeoutMs);
    });
}

const PAGE_HTML = '<!doctype html><meta charset="utf-8"><title>ssehub interop</title><p>ssecat vs Chromium';

function startServer(cases) {
    const hits = new Map();
    const server = http.createServer(async (req, res) => {
        const m = /^\/case\/(\d+)$/.exec(req.url);
        if (req.url === '/') {
            res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
            res.end(PAGE_HTML);
            return;
        }
        if (!m || Number(m[1]) >= cases.length) {
            res.writeHead(404, { 'Content-Type': 'text/plain' });
            res.end('not found\n');
            return;
        }
        const n = Number(m[1]);
        const seen = hits.get(n) || 0;
        hits.set(n, seen + 1);
        if (seen > 0) {
            res.writeHead(204, { 'Cache-Control': 'no-store' });
            res.end();
            return;
        }
        const { chunks } = cases[n];
        res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store' });
        res.flushHeaders();
        for (let i = 0; i < chunks.length; i++) {
            if (i > 0) await sleep(CHUNK_GAP_MS);
            res.write(chunks[i]); // raw bytes, never a JS string
        }
        res.end();
    });
    return new Promise((resolve, reject) => {
        server.on('error', reject);
        server.listen(0, '127.0.0.1', () => resolve({ server, hits, port: server.address().port }));
    });
}

// ---- Reporting -------------------------------------------------------------------------

function hexOf(bytes, max = 256) {
    const h = bytes.subarray(0, max).toString('hex').replace(/(..)/g, '$1 ').trim();
    return bytes.length > max ? `${h} ... (${bytes.length} bytes in all)` : `${h} (${bytes.length} bytes)`;
}

// JSON with every non-ASCII character escaped, so U+FFFD and friends are visible.
function showValue(s, max = 120) {
    const j = JSON.stringify(s).replace(/[^\x20-\x7e]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
    return j.length > max ? `${j.slice(0, max)}..." (${s.length} UTF-16 units)` : j;
}

function showEvent(ev) {
    return ev ? `{type: ${showValue(ev[0])}, data: ${showValue(ev[1])}, lastEventId: ${showValue(ev[2])}}` : '(none)';
}

function diffEvents(chrome, ours, labels = ['Chromium', 'ssecat']) {
    const lines = [];
    const same = (a, b) => a && b && a[0] === b[0] && a[1] === b[1] && a[2] === b[2];
    let i = 0;
    while (i < chrome.length && i < ours.length && same(chrome[i], ours[i])) i++;
    if (i === chrome.length && i === ours.length) return null;
    const w = Math.max(labels[0].length, labels[1].length) + 1;
    lines.push(`    ${labels[0]} dispatched ${chrome.length} event(s), ${labels[1]} ${ours.length}; first difference at event #${i}:`);
    lines.push(`      ${(labels[0] + ':').padEnd(w)} ${showEvent(chrome[i])}`);
    lines.push(`      ${(labels[1] + ':').padEnd(w)} ${showEvent(ours[i])}`);
    return lines.join('\n');
}

// The known Chromium deviation described in the header: a BOM directly followed by CR/LF.
function bomThenLineEnd(bytes) {
    return bytes.length >= 4 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf &&
        (bytes[3] === 0x0a || bytes[3] === 0x0d);
}

// |chunks| without their first |n| bytes, chunk boundaries kept (empty chunks dropped).
function dropLeadingBytes(chunks, n) {
    const out = [];
    for (const ch of chunks) {
        const k = Math.min(n, ch.length);
        n -= k;
        if (ch.length > k) out.push(ch.subarray(k));
    }
    return out;
}

// ---- Main ------------------------------------------------------------------------------

async function main() {
    const args = process.argv.slice(2);
    if (args.length < 1 || args.length > 2 || args[0].startsWith('-')) usage();
    const ssecat = path.resolve(args[0]);
    try {
        if (!statSync(ssecat).isFile()) usage(`${ssecat} is not a file`);
    } catch (e) {
        usage(`cannot find ssecat at ${ssecat}: ${e.message}`);
    }
    const seed = Number(process.env.SSEHUB_INTEROP_SEED ?? 20240601) >>> 0;
    const nRandom = Number(process.env.SSEHUB_INTEROP_RANDOM ?? 300);
    const t0 = Date.now();

    let base = [
        ...(args[1] ? fileCases(args[1]) : []),
        ...handWrittenCases(),
        ...randomCases(seed, nRandom),
    ];
    if (process.env.SSEHUB_INTEROP_ONLY) base = base.filter((c) => c.name.includes(process.env.SSEHUB_INTEROP_ONLY));
    // A stream hit by the BOM deviation gets its BOM-less equivalent served just before it.
    const cases = [];
    for (const c of base) {
        c.bytes = Buffer.concat(c.chunks);
        if (bomThenLineEnd(c.bytes)) {
            const chunks = dropLeadingBytes(c.chunks, 3);
            cases.push({ name: `${c.name} [without its BOM]`, chunks, bytes: Buffer.concat(chunks) });
            c.equivalent = cases.length - 1;
        }
        cases.push(c);
    }

    // ssecat, a few at a time (chunked cases mostly sleep), alongside the browser: case i
    // waits for ready[i]; its types feed the listeners.
    const ours = new Array(cases.length);
    const ready = [];
    const readyResolve = [];
    for (let i = 0; i < cases.length; i++) ready.push(new Promise((resolve) => { readyResolve.push(resolve); }));
    let next = 0;
    let tSsecat = 0;
    const ssecatRuns = Promise.all(Array.from({ length: 6 }, async () => {
        while (next < cases.length) {
            const i = next++;
            ours[i] = parseSsecatOutput(await runSsecat(ssecat, cases[i].chunks));
            readyResolve[i]();
        }
    })).then(() => { tSsecat = Date.now(); });

    let playwright;
    try {
        playwright = await import('playwright-core');
    } catch (e) {
        console.error(`ssecat_vs_chromium: cannot load playwright-core (run "npm ci" in tests/interop): ${e.message}`);
        process.exit(1);
    }
    const { server, hits, port } = await startServer(cases);
    const origin = `http://127.0.0.1:${port}`;
    const executablePath = CHROMIUM_PATH;
    let browser;
    try {
        // playwright-core gives the browser a fresh temporary --user-data-dir, removed at close.
        browser = await launchChromium(playwright);
    } catch (e) {
        server.close();
        console.error(`ssecat_vs_chromium: cannot start Chromium at ${executablePath} (Debian package chromium): ${e.message}`);
        process.exit(1);
    }
    const failures = [];
    const notes = [];
    const chromeEvents = new Array(cases.length);
    let nEvents = 0;
    let nRandomEvents = 0;
    let browserVersion = '?';
    let nRan = 0;
    try {
        browserVersion = browser.version();
        const page = await browser.newPage();
        page.setDefaultTimeout(CASE_TIMEOUT_MS + 5_000);
        await page.goto(`${origin}/`);
        for (let i = 0; i < cases.length; i++) {
            const c = cases[i];
            if (Date.now() - t0 > RUN_BUDGET_MS) {
                failures.push({ c, notRun: true, msg: `run budget of ${RUN_BUDGET_MS} ms exhausted before this case; ${cases.length - i} case(s) not run` });
                break;
            }
            await ready[i];
            nRan++;
            const types = candidateTypes(c.bytes, ours[i].events);
            const got = await page.evaluate(runInPage, {
                url: `/case/${i}`,
                types,
                timeoutMs: CASE_TIMEOUT_MS,
                waitClosed: !!c.waitClosed,
            });
            const problems = [];
            if (got.how === 'timeout')
                problems.push(`Chromium did not finish the case within ${CASE_TIMEOUT_MS} ms (readyState ${got.state}, ${got.events.length} event(s) so far, errors at states [${got.errors}])`);
            else if (c.waitClosed ? got.state !== 2 || hits.get(i) !== 2 : got.errors[0] !== 0)
                problems.push(`harness: unexpected EventSource end (readyState at errors [${got.errors}], ${hits.get(i) || 0} request(s))`);
            if (got.opens < 1) problems.push('harness: no open event');
            if (ours[i].error) problems.push(`ssecat: ${ours[i].error}`);
            chromeEvents[i] = got.events;
            nEvents += got.events.length;
            if (c.name.startsWith('random')) nRandomEvents += got.events.length;
            let reference = got.events;
            if (c.equivalent !== undefined) {
                const dev = diffEvents(got.events, chromeEvents[c.equivalent] || [],
                    ['Chromium on this stream', 'Chromium without the BOM']);
                if (dev) notes.push({ c, msg: `known Chromium deviation (BOM then line end), so ssecat was compared with Chromium on the stream without its BOM:\n${dev}` });
                reference = chromeEvents[c.equivalent] || [];
            }
            const diff = ours[i].events ? diffEvents(reference, ours[i].events) : null;
            if (diff) problems.push(`events differ${reference !== got.events ? ' (Chromium: on the stream without its BOM)' : ''}:\n${diff}`);
            if (c.expected) {
                const ediff = c.expected.events
                    ? diffEvents(reference, c.expected.events, ['Chromium', c.expectedFile])
                    : `    ${c.expected.error}`;
                if (ediff) problems.push(`the expected output ${c.expectedFile} disagrees with Chromium:\n${ediff}`);
            }
            if (problems.length) failures.push({ c, msg: problems.join('\n    ') });
        }
    } finally {
        next = cases.length; // no more ssecat runs (after a budget stop); let those under way end
        await ssecatRuns;
        await browser.close();
        server.close();
    }
    const secs = ((Date.now() - t0) / 1000).toFixed(1);

    for (const { c, msg } of notes)
        console.log(`NOTE ${c.name}\n    input: ${hexOf(c.bytes)}\n    ${msg}`);
    for (const { c, msg } of failures)
        console.log(`FAIL ${c.name}\n    input: ${hexOf(c.bytes)}${c.chunks.length > 1 ? ` in ${c.chunks.length} chunks` : ''}\n    ${msg}`);
    const passed = nRan - failures.filter((f) => !f.notRun).length;
    console.log(`ssecat_vs_chromium: Chromium ${browserVersion}, ${cases.length} cases (${nRandom} random, seed ${seed}), ` +
        `${nEvents} events dispatched by Chromium (${nRandomEvents} in random cases), ssecat runs done at ${((tSsecat - t0) / 1000).toFixed(1)} s, total ${secs} s`);
    if (failures.length === 0)
        console.log(`ssecat_vs_chromium: ${cases.length} cases, all agree` +
            (notes.length ? ` (${notes.length} compared via the BOM-less equivalent: see NOTE)` : ''));
    else
        console.log(`ssecat_vs_chromium: ${cases.length} cases, ${failures.length} disagree`);
    console.log(`${passed} passed, ${failures.length} failed`);
    process.exit(failures.length === 0 ? 0 : 1);
}

const budget = setTimeout(() => {
    console.error(`ssecat_vs_chromium: the run exceeded ${RUN_BUDGET_MS + 10_000} ms; giving up`);
    process.exit(1);
}, RUN_BUDGET_MS + 10_000);
budget.unref();

main().catch((e) => {
    console.error(`ssecat_vs_chromium: ${e.stack || e}`);
    process.exit(1);
});
