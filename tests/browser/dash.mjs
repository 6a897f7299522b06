// Loads a heed-dash page in Debian's headless chromium (playwright-core, no
// browser download, no network) and checks what t_dash_browser.sh planted:
// no console errors, every section, the verdicts and numbers, working sort
// and filter; saves a full-page screenshot.
// Usage: node dash.mjs NODE_DIR PAGE.html OUT.png USER_DATA_DIR
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const [nodeDir, page, png, userData] = process.argv.slice(2);
if (!userData) {
	console.error('usage: node dash.mjs NODE_DIR PAGE.html OUT.png USER_DATA_DIR');
	process.exit(2);
}
const require = createRequire(path.join(path.resolve(nodeDir), 'package.json'));
const { chromium } = require('playwright-core');

const failures = [];
function check(cond, what) {
	if (!cond) failures.push(what);
	else console.log('ok: ' + what);
}

const ctx = await chromium.launchPersistentContext(userData, {
	executablePath: '/usr/bin/chromium',
	headless: true,
	args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
		'--disable-background-networking', '--disable-component-update', '--disable-sync'],
	viewport: { width: 1400, height: 900 },
});
try {
	const tab = ctx.pages()[0] || await ctx.newPage();
	const errors = [];
	const requests = [];
	tab.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
	tab.on('pageerror', (e) => errors.push(String(e)));
	tab.on('request', (r) => requests.push(r.url()));
	await tab.goto(pathToFileURL(path.resolve(page)).href, { waitUntil: 'load' });

	check(errors.length === 0, 'no console errors' + (errors.length ? ': ' + errors.join(' | ') : ''));
	const remote = requests.filter((u) => !u.startsWith('file:') && !u.startsWith('data:'));
	check(remote.length === 0, 'no network requests' + (remote.length ? ': ' + remote.join(' ') : ''));
	for (const id of ['compare', 'trends', 'ops', 'flames', 'recs'])
		check(await tab.locator('section#' + id + ' h2').isVisible(), 'section #' + id + ' visible');

	check(await tab.textContent('#newest') === 'd4e5f60', 'newest commit is d4e5f60');
	check(await tab.textContent('#baseline') === 'c3d4e5f', 'baseline is c3d4e5f');
	check((await tab.textContent('#n-slower')).startsWith('2 '), 'two benchmarks slower');
	check((await tab.textContent('#n-faster')).startsWith('1 '), 'one benchmark faster');
	check((await tab.textContent('#n-same')).startsWith('4 '), 'four benchmarks unchanged');

	const row = async (name, suite = 'btree_ops') => tab.locator('#compare-table tr')
		.filter({ has: tab.locator('td:first-child', { hasText: new RegExp('^' + suite + '$') }) })
		.filter({ hasText: name }).first();
	const slow = await row('insert_seq/4k/1000');
	check(await slow.getAttribute('class') === 'slower', 'insert_seq is marked slower');
	check((await slow.textContent()).includes('+30.0%'), 'insert_seq change +30.0%');
	check((await slow.textContent()).includes('810 ns'), 'insert_seq baseline 810 ns');
	const fast = await row('get_hit/4k/1000');
	check(await fast.getAttribute('class') === 'faster', 'get_hit is marked faster');
	check((await fast.textContent()).includes('-25.0%'), 'get_hit change -25.0%');
	const same = await row('range_scan/4k/1000');
	check(await same.getAttribute('class') === 'same', 'range_scan within noise: no change');
	const nobase = await row('overflow_chain/64k', 'page_alloc');
	check((await nobase.textContent()).includes('12.0'), 'page_alloc results shown');
	const icount = await row('get_hit/4k/1000', 'btree_icount');
	check(await icount.getAttribute('class') === 'slower', 'icount +10% is slower (exact ratio)');
	check((await icount.textContent()).includes('1.10 k instr') &&
		(await icount.textContent()).includes('[+10.0%, +10.0%]'), 'icount shown in instructions');

	check(await tab.locator('figure.trend').count() === 7, 'seven trend charts');
	check(await tab.locator('figure.trend svg circle').count() === 22, 'one point per result (22)');

	const ops = await tab.textContent('#ops');
	check(ops.includes('txn_commit') && ops.includes('1.50 ms') && ops.includes('180 ns'),
		'per-operation p50/p99 shown (get 180 ns, txn_commit p99 1.50 ms)');
	const flame = tab.locator('#flames a.flame');
	check(await flame.count() === 1, 'one flame graph link');
	check(await flame.getAttribute('href') === '../profile/btree_ops.svg', 'flame link is relative');
	check(await tab.locator('#flames img').evaluate((i) => i.naturalWidth > 0), 'flame preview loads');
	const recs = await tab.textContent('#recs');
	check(recs.includes('key-compare') && recs.includes('60%') && recs.includes('Evidence: 60.0%'),
		'recommendation with its share and evidence');

	// sort by change, descending: the slower benchmark comes first
	await tab.click('#compare-table th:nth-child(5)');
	await tab.click('#compare-table th:nth-child(5)');
	check((await tab.textContent('#compare-table tbody tr:first-child')).includes('insert_seq'),
		'sorting by change puts the regression first');
	await tab.fill('#filter', 'insert_seq');
	check(await tab.locator('#compare-table tbody tr:visible').count() === 1, 'filter keeps one row');
	check(await tab.locator('figure.trend:visible').count() === 1, 'filter keeps one chart');
	await tab.fill('#filter', '');
	await tab.click('#compare-table th:nth-child(2)');

	await tab.screenshot({ path: png, fullPage: true });
	console.log('screenshot: ' + png);
} finally {
	await ctx.close();
}
if (failures.length) {
	for (const f of failures) console.error('FAIL: ' + f);
	process.exit(1);
}
