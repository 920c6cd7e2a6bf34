#!/usr/bin/env node
// SPDX-License-Identifier: MIT
//
// ssehub against the npm package `eventsource` (a WHATWG EventSource for Node, on fetch),
// pinned in package.json. Nobody here wrote it, so it checks the hub's streams the way a
// Node subscriber sees them.
//
// Usage: node tests/interop/hub_eventsource.mjs PATH/TO/ssehub
//   (run `npm ci` in tests/interop once first)
// Starts two hubs on 127.0.0.1 (port 0): a plain one, and one with --max-lifetime 1s
// --retry 200 for the resumption case. Publishes with fetch (form POSTs). The cases are
// in hublib.mjs, shared with hub_chromium.mjs: message events and ids, custom types,
// multi-line data, resumption across hub-closed streams, the lastEventID query parameter,
// readyState. Each case prints PASS or FAIL; the hubs must exit 0 on SIGTERM with no
// sanitizer report. Exit status: 0 when all pass, 1 otherwise, 2 on a usage error.

import process from 'node:process';

import { hubPath, recorderLib, runSuite } from './hublib.mjs';

const SCRIPT = 'hub_eventsource.mjs';

async function main() {
    const bin = hubPath(process.argv.slice(2), SCRIPT);
    let EventSource, version = '?';
    try {
        ({ EventSource } = await import('eventsource'));
        const { createRequire } = await import('node:module');
        const require = createRequire(import.meta.url);
        version = require('eventsource/package.json').version;
    } catch (e) {
        console.error(`${SCRIPT}: cannot load the npm package eventsource (run "npm ci" in tests/interop): ${e.message}`);
        process.exit(1);
    }
    await runSuite({
        script: SCRIPT,
        clientName: `npm eventsource ${version}, Node ${process.versions.node}`,
        bin,
        makeClient: async () => {
            const rec = recorderLib(EventSource);
            return {
                open: async (key, url, types) => rec.open(key, url, types),
                state: async (key) => rec.state(key),
                close: async (key) => rec.close(key),
                closeAll: async () => rec.closeAll(),
            };
        },
    });
}

main().catch((e) => {
    console.error(`${SCRIPT}: ${e.stack || e}`);
    process.exit(1);
});
