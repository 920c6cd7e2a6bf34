// SPDX-License-Identifier: MIT
// Headless Chromium for the interop tests: Debian's /usr/bin/chromium (or $CHROMIUM),
// driven by playwright-core, with the flags that keep it quiet and off the network.
import process from 'node:process';

export const CHROMIUM_PATH = process.env.CHROMIUM || '/usr/bin/chromium';

// For every playwright action (page.goto, page.evaluate, waits) and the browser's start:
// ASan tests on two busy cores can starve the browser for a long while.
export const PAGE_TIMEOUT_MS = 120_000;

export const CHROMIUM_ARGS = [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--disable-quic',
    '--no-first-run',
];

/**
 * Starts the browser with |playwright| (the playwright-core module, which the caller
 * imports so it can explain a missing `npm ci`); rejects with playwright's error.
 */
export function launchChromium(playwright) {
    return playwright.chromium.launch({
        executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS, timeout: PAGE_TIMEOUT_MS,
    });
}
