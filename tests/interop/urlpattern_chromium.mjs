#!/usr/bin/env node
// SPDX-License-Identifier: MIT
//
// Differential test of ssehub's URL Pattern component compiler (src/hub/urlpattern.c)
// against headless Chromium's native URLPattern: thousands of generated patterns (fixed
// text, named groups, wildcards, custom regular expressions, {...} groups, every modifier,
// escapes, and malformed ones) with generated inputs, for the pathname, hostname and search
// components. Chromium answers `new URLPattern({C: pattern}).test({C: input})` (or throws);
// tests/tools/urlpattern_check answers the same question with ssehub's code. Every answer
// must agree, errors included.
//
// The alphabets need no canonicalization (letters, '/', '.', '-'; no dot segments in
// paths), which ssehub's component compiler leaves to its caller. Class set operations of
// the v flag ([a--b], [a&&b], nested classes), which ssehub refuses as not supported, are
// not generated.
//
// Usage: node tests/interop/urlpattern_chromium.mjs PATH/TO/urlpattern_check [SEED] [N]
import { spawnSync } from 'node:child_process';
import process from 'node:process';

import { PAGE_TIMEOUT_MS, launchChromium } from './chromium.mjs';

const [checker, seedArg, nArg] = process.argv.slice(2);
if (!checker) {
    console.error('usage: urlpattern_chromium.mjs PATH/TO/urlpattern_check [SEED] [N]');
    process.exit(2);
}
let seed = Number(seedArg || 20261206) >>> 0;
const N = Number(nArg || 3000); // patterns per component
const INPUTS = 6; // inputs per pattern

// A small deterministic PRNG (mulberry32), so a failure is reproducible from its seed.
function rnd() {
    seed = (seed + 0x6d2b79f5) >>> 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const pick = (a) => a[Math.floor(rnd() * a.length)];
const chance = (p) => rnd() < p;

const COMPONENTS = {
    pathname: { opts: 'pathname', fixed: ['a', 'b', '/', '/', '-'], input: ['a', 'b', '/', '/', '-'], lead: '/',
        escaped: ['a', ':', '*', '{', '/'] },
    hostname: { opts: 'hostname', fixed: ['a', 'b', '.', '-'], input: ['a', 'b', '.', 'a'], lead: '',
        escaped: ['a', '*', '{', '.'] },
    search: { opts: 'default', fixed: ['a', 'b', '=', '&'], input: ['a', 'b', '=', '&'], lead: '',
        escaped: ['a', ':', '*', '{', '/', '.'] },
};
const REGEXPS = ['a+', '[ab]*', 'b', '.*', 'a|b', '(?:ab)+', '[^-]+', 'a?', '\\w+', '[a-b]{1,2}',
    '(?:a|b)*b', '[^\\/]+?', '[^\\.]+?', '[^\\-]+', 'a{2}', 'a{', '\\a', ']', '[a-]', '[/]',
    '[\\/a]+', '[&&]', 'b{1,}', '\\d*', '[^]+?', '\\u0061+'];
const BROKEN = ['(', ')', '{', '}', '\\', ':', '(?x)', '()', '((a))', ':1', '{a{b}}'];

function gen(comp) {
    let s = comp.lead && chance(0.8) ? comp.lead : '';
    let names = 0;
    const atom = () => {
        switch (Math.floor(rnd() * 7)) {
        case 0: case 1: return pick(comp.fixed);
        case 2: return `:n${names++}`;
        case 3: return '*';
        case 4: return `(${pick(REGEXPS)})`;
        case 5: return `:n${names++}(${pick(REGEXPS)})`;
        default: return `\\${pick(comp.escaped)}`;
        }
    };
    const mod = () => (chance(0.4) ? pick(['?', '+', '*']) : '');
    const parts = 1 + Math.floor(rnd() * 5);
    for (let i = 0; i < parts; i++) {
        if (chance(0.2)) {
            // A {...} group: text, maybe a name or regexp, text.
            let g = '{';
            if (chance(0.6)) g += pick(comp.fixed);
            if (chance(0.6)) g += chance(0.5) ? `:n${names++}` : `(${pick(REGEXPS)})`;
            if (chance(0.4)) g += pick(comp.fixed);
            s += `${g}}${mod()}`;
        } else {
            const a = atom();
            s += a;
            if (a.startsWith(':') || a.startsWith('(') || a === '*') s += mod();
            else if (chance(0.1)) s += pick(comp.fixed);
        }
    }
    if (chance(0.04)) s += pick(BROKEN); // errors must agree too
    return s;
}

function genInput(comp) {
    let s = comp.lead;
    const n = Math.floor(rnd() * 7);
    for (let i = 0; i < n; i++) s += pick(comp.input);
    if (comp.opts === 'hostname' && s === '') s = 'a';
    if (comp.opts === 'pathname') s = s.replace(/\/\.\.?(?=\/|$)/g, '/x'); // no dot segments
    return s;
}

async function main() {
    const cases = [];
    for (const [name, comp] of Object.entries(COMPONENTS)) {
        for (let i = 0; i < N; i++) {
            const pattern = gen(comp);
            for (let k = 0; k < INPUTS; k++) cases.push({ name, opts: comp.opts, pattern, input: genInput(comp) });
        }
    }
    const playwright = await import('playwright-core');
    const browser = await launchChromium(playwright);
    let failed = 0;
    try {
        const page = await browser.newPage();
        page.setDefaultTimeout(PAGE_TIMEOUT_MS);
        const hasIt = await page.evaluate(() => typeof URLPattern === 'function');
        if (!hasIt) {
            console.log(`SKIP: Chromium ${browser.version()} has no URLPattern`);
            return 0;
        }
        const chrome = await page.evaluate((cs) => cs.map((c) => {
            let p;
            try {
                p = new URLPattern({ [c.name]: c.pattern });
            } catch (e) {
                return 'E';
            }
            return p.test({ [c.name]: c.input }) ? '1' : '0';
        }), cases);
        const lines = cases.map((c) => `${c.opts}\t${c.pattern}\t${c.input}\n`).join('');
        const r = spawnSync(checker, [], { input: lines, maxBuffer: 1 << 28 });
        if (r.status !== 0) throw new Error(`${checker} exited ${r.status}: ${r.stderr}`);
        const ours = r.stdout.toString().split('\n');
        const shown = new Set();
        const counts = {};
        for (let i = 0; i < cases.length; i++) {
            const c = cases[i];
            counts[chrome[i]] = (counts[chrome[i]] || 0) + 1;
            if (chrome[i] === ours[i]) continue;
            failed++;
            const key = `${c.name} ${c.pattern}`;
            if (shown.size < 30 && !shown.has(key)) {
                shown.add(key);
                console.log(`DIFF ${c.name} pattern ${JSON.stringify(c.pattern)} input ${JSON.stringify(c.input)}: Chromium ${chrome[i]}, ssehub ${ours[i]}`);
            }
        }
        console.log(`urlpattern_chromium: ${cases.length} cases (${N} patterns x ${INPUTS} inputs x 3 components; Chromium: ${counts['1'] || 0} match, ${counts['0'] || 0} no match, ${counts.E || 0} refused), ${failed} disagreements, Chromium ${browser.version()}`);
    } finally {
        await browser.close();
    }
    return failed ? 1 : 0;
}

main().then((rc) => process.exit(rc), (e) => {
    console.log(`FAIL harness: ${e.stack || e}`);
    process.exit(1);
});
