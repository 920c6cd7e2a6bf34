#!/usr/bin/env node
// SPDX-License-Identifier: MIT
//
// Differential test of ssehub's whole URL patterns (src/hub/urlpattern.c: the constructor
// string parser, the base URL, every component with its canonicalization) and topic URLs
// (src/hub/url.c) against headless Chromium: generated constructor strings, absolute and
// relative, and generated topics, answered by
// `new URLPattern(pattern, HUB).test(topic, HUB)` (HUB: the hub's URL) and by
// tests/tools/urlpattern_check's `full` mode. Every answer must agree, a refused pattern
// included. Not generated: hostnames needing IDNA, IPv6, file: URLs.
//
// Usage: node tests/interop/urlpattern_full_chromium.mjs PATH/TO/urlpattern_check [SEED] [N]
import { spawnSync } from 'node:child_process';
import process from 'node:process';

import { PAGE_TIMEOUT_MS, launchChromium } from './chromium.mjs';

const [checker, seedArg, nArg] = process.argv.slice(2);
if (!checker) {
    console.error('usage: urlpattern_full_chromium.mjs PATH/TO/urlpattern_check [SEED] [N]');
    process.exit(2);
}
let seed = Number(seedArg || 20261206) >>> 0;
const N = Number(nArg || 3000);
const INPUTS = 8;
const HUB = 'https://hub.example/.well-known/mercure';

function rnd() {
    seed = (seed + 0x6d2b79f5) >>> 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const pick = (a) => a[Math.floor(rnd() * a.length)];

const P_SCHEME = ['https://', 'http://', 'http{s}?://', '*://', ':proto://', 'HTTPS://', 'ws://', 'urn:', 'mercure://', '', '', ''];
const P_HOST = ['example.com', 'EXAMPLE.com', '{*.}?example.com', ':sub.example.com', '*', 'hub.example', 'ex(ample)?.com', '*.example.com', 'a.b', ''];
const P_PORT = ['', '', '', ':8080', ':443', ':*', ':(\\d+)', ':080'];
const P_PATH = ['', '/', '/books/:id', '/books/*', '/books/:id(\\d+)', '/books{/:id}?', '/books/:id+', '/a/../b', '/caf\u00e9', '/{x}', '/a b', '/:a/:b?', '/.well-known/mercure/*', 'books/:id', '*', '/books/(.*)'];
const P_QUERY = ['', '', '', '?', '?q=:v', '?*', '?a=b', '?a b'];
const P_HASH = ['', '', '', '#', '#:frag', '#*', '#a b'];

const T_SCHEME = ['https://', 'http://', 'HTTPS://', 'ws://', 'urn:', 'mercure://', ''];
const T_HOST = ['example.com', 'EXAMPLE.com', 'a.example.com', 'a.b.example.com', 'hub.example', 'other.example', 'exa.com', 'a.b'];
const T_PORT = ['', '', ':8080', ':443', ':80', ':0080'];
const T_PATH = ['', '/', '/books/1', '/books/x', '/books/1/2', '/books', '/b', '/a/../b', '/caf\u00e9', '/%7Bx%7D', '/a%20b', '/.well-known/mercure/x', 'books/1', '/x/y'];
const T_QUERY = ['', '', '?', '?q=1', '?a=b', '?a b'];
const T_HASH = ['', '', '#', '#f', '#a b'];

function genPattern() {
    const scheme = pick(P_SCHEME);
    let s = scheme;
    if (scheme.endsWith('//')) s += pick(P_HOST) + pick(P_PORT);
    let path = pick(P_PATH);
    if (scheme === '' && path === '') path = '/books/:id';
    return s + path + pick(P_QUERY) + pick(P_HASH);
}

// A topic close to what patterns select, so that matches are frequent too.
function genTopicNear() {
    return pick(['https://', 'https://', 'http://', 'HTTPS://', '']) +
        pick(['example.com', 'a.example.com', 'hub.example', 'EXAMPLE.com']) + pick(['', '', ':8080', ':443']) +
        pick(['/books/1', '/books/12', '/books/1/2', '/books', '/books/', '/.well-known/mercure/x', '/caf%C3%A9', '/caf\u00e9', '/b']) +
        pick(['', '', '?q=1', '?a=b']) + pick(['', '', '#f']);
}

function genTopic() {
    const scheme = pick(T_SCHEME);
    let s = scheme;
    if (scheme.endsWith('//')) s += pick(T_HOST) + pick(T_PORT);
    return s + pick(T_PATH) + pick(T_QUERY) + pick(T_HASH);
}

async function main() {
    const cases = [];
    for (let i = 0; i < N; i++) {
        const pattern = genPattern();
        for (let k = 0; k < INPUTS; k++) cases.push({ pattern, topic: k % 2 ? genTopic() : genTopicNear() });
    }
    const playwright = await import('playwright-core');
    const browser = await launchChromium(playwright);
    let failed = 0;
    try {
        const page = await browser.newPage();
        page.setDefaultTimeout(PAGE_TIMEOUT_MS);
        if (!await page.evaluate(() => typeof URLPattern === 'function')) {
            console.log(`SKIP: Chromium ${browser.version()} has no URLPattern`);
            return 0;
        }
        const chrome = await page.evaluate(([cs, hub]) => cs.map((c) => {
            let p;
            try {
                p = new URLPattern(c.pattern, hub);
            } catch (e) {
                return 'E';
            }
            try {
                return p.test(c.topic, hub) ? '1' : '0';
            } catch (e) {
                return '0';
            }
        }), [cases, HUB]);
        const lines = cases.map((c) => `full\t${c.pattern}\t${c.topic}\t${HUB}\n`).join('');
        const r = spawnSync(checker, [], { input: lines, maxBuffer: 1 << 28 });
        if (r.status !== 0) throw new Error(`${checker} exited ${r.status}: ${r.stderr}`);
        const ours = r.stdout.toString().split('\n');
        const counts = {};
        const shown = new Set();
        for (let i = 0; i < cases.length; i++) {
            counts[chrome[i]] = (counts[chrome[i]] || 0) + 1;
            if (chrome[i] === ours[i]) continue;
            failed++;
            const key = cases[i].pattern + (chrome[i] === 'E' || ours[i] === 'E' ? '' : cases[i].topic);
            if (shown.size < 30 && !shown.has(key)) {
                shown.add(key);
                console.log(`DIFF pattern ${JSON.stringify(cases[i].pattern)} topic ${JSON.stringify(cases[i].topic)}: Chromium ${chrome[i]}, ssehub ${ours[i]}`);
            }
        }
        console.log(`urlpattern_full_chromium: ${cases.length} cases (${N} patterns x ${INPUTS} topics against ${HUB}; Chromium: ${counts['1'] || 0} match, ${counts['0'] || 0} no match, ${counts.E || 0} refused), ${failed} disagreements, Chromium ${browser.version()}`);
    } finally {
        await browser.close();
    }
    return failed ? 1 : 0;
}

main().then((rc) => process.exit(rc), (e) => {
    console.log(`FAIL harness: ${e.stack || e}`);
    process.exit(1);
});
