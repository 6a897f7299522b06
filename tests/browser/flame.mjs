// Drives a heed-flame SVG in headless Debian chromium through playwright-core:
// hover details, click-to-zoom and reset, regex search (button and Ctrl-F) with the
// matched percent, no console errors, and screenshots.
// A flame chart (input order, zoom on one of several frames of one name) and a small
// differential graph (deltas only where stacks end, white parents) too.
// Usage: node tests/browser/flame.mjs PLAYWRIGHT_DIR SMALL.svg BIG.svg OUTDIR DIFF.svg
//        CHART.svg SMALLDIFF.svg
// SMALL.svg, CHART.svg and SMALLDIFF.svg must be drawn from the stacks of
// tests/t_flame_browser.sh.
import { createRequire } from "node:module";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

const [pwDir, smallSvg, bigSvg, outDir, diffSvg, chartSvg, smallDiffSvg] = process.argv.slice(2);
const require = createRequire(path.join(pwDir, "noop.js"));
const { chromium } = require("playwright-core");

let failures = 0;
function check(ok, what) {
	console.log(`${ok ? "ok" : "FAIL"}: ${what}`);
	if (!ok)
		failures++;
}
function near(a, b, tol = 0.02) {
	return Math.abs(a - b) <= tol;
}

const profile = mkdtempSync(path.join(tmpdir(), "flame-chromium-"));
let ctx;
try {
	ctx = await chromium.launchPersistentContext(profile, {
		executablePath: "/usr/bin/chromium",
		headless: true,
		args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
		       "--no-first-run", "--disable-background-networking",
		       "--disable-component-update", "--disable-sync"],
		viewport: { width: 1200, height: 400 },
	});
	const page = await ctx.newPage();
	const errors = [];
	const requests = [];
	page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
	page.on("pageerror", (e) => errors.push(String(e)));
	page.on("request", (r) => { if (!r.url().startsWith("file:")) requests.push(r.url()); });
	let answer = null;
	page.on("dialog", (d) => d.accept(answer));

	await page.goto("file://" + path.resolve(smallSvg));
	await page.waitForFunction(() => window.hf && hf.items.length > 0);

	// Geometry of a frame by name: x/width attributes and whether it is shown.
	const frame = (name) => page.evaluate((n) => {
		for (const it of hf.items) {
			if (it.name !== n)
				continue;
			const r = it.rect.getBoundingClientRect();
			return {
				x: +it.rect.getAttribute("x"), w: +it.rect.getAttribute("width"),
				shown: getComputedStyle(it.g).display !== "none",
				parent: it.g.classList.contains("parent"),
				label: it.text ? it.text.textContent : "",
				cx: r.x + r.width / 2, cy: r.y + r.height / 2,
			};
		}
		return null;
	}, name);
	const text = (id) => page.evaluate((i) => document.getElementById(i).textContent, id);

	// 100 samples over 1180 px: 11.8 px a sample.
	let render = await frame("render");
	check(render && near(render.x, 10 + 65 * 11.8) && near(render.w, 35 * 11.8),
	      `render drawn at x=${render && render.x} w=${render && render.w}`);

	// Hover shows name, samples and percent in the details line.
	const parse = await frame("parse");
	await page.mouse.move(parse.cx, parse.cy);
	const det = await text("details");
	check(det === "Function: parse (40 samples, 40.00%)", `hover details: "${det}"`);

	// Click zooms: render spans the full width, its children scale, others hide.
	await page.mouse.click(render.cx, render.cy);
	render = await frame("render");
	const draw = await frame("draw"), idle = await frame("idle"), main = await frame("main");
	check(near(render.x, 10) && near(render.w, 1180), `zoomed render x=${render.x} w=${render.w}`);
	check(draw.shown && near(draw.x, 10 + 15 * 1180 / 35, 0.05) && near(draw.w, 20 * 1180 / 35, 0.05),
	      `zoomed draw x=${draw.x} w=${draw.w}`);
	check(!idle.shown && !(await frame("tree")).shown, "frames outside the zoom are hidden");
	check(main.shown && main.parent && near(main.w, 1180), "ancestor main spans the width, dimmed");
	check(render.label === "render", `zoomed label "${render.label}"`);
	check(!(await page.evaluate(() => document.getElementById("unzoom").classList.contains("hide"))),
	      "Reset Zoom shown");
	await page.screenshot({ path: path.join(outDir, "flame-zoomed.png") });
	const unzoom = await page.evaluate(() => {
		const r = document.getElementById("unzoom").getBoundingClientRect();
		return { x: r.x + r.width / 2, y: r.y + r.height / 2 };
	});
	await page.mouse.click(unzoom.x, unzoom.y);
	render = await frame("render");
	check(near(render.x, 10 + 65 * 11.8) && near(render.w, 35 * 11.8) && (await frame("idle")).shown,
	      "Reset Zoom restores the layout");

	// Search by button: "lex" matches 30 + 20 of 100 samples.
	answer = "lex";
	await page.click("#search");
	let matched = await text("matched");
	check(matched === "Matched: 50.0%", `search lex: "${matched}"`);
	const lexFill = await page.evaluate(() =>
		hf.items.filter((i) => i.name === "lex").map((i) => i.rect.getAttribute("fill")));
	check(lexFill.length === 2 && lexFill.every((f) => f === "rgb(230,0,230)"), "matches highlighted");
	check((await text("search")) === "Reset Search", "search button becomes Reset Search");
	await page.screenshot({ path: path.join(outDir, "flame-search.png") });
	await page.click("#search");
	check((await text("matched")).trim() === "", "Reset Search clears the match");

	// Ctrl-F: "parse|lex": lex under parse is counted once: 40 + 20.
	answer = "parse|lex";
	await page.keyboard.press("Control+f");
	matched = await text("matched");
	check(matched === "Matched: 60.0%", `Ctrl-F parse|lex: "${matched}"`);
	answer = "^(main|render)$";
	await page.keyboard.press("Control+f");
	matched = await text("matched");
	check(matched === "Matched: 100.0%", `nested matches counted once: "${matched}"`);
	answer = "([";
	await page.keyboard.press("Control+f");
	matched = await text("matched");
	check(matched.startsWith("Bad regex"), `invalid regex reported: "${matched}"`);

	// A realistic graph: loads, hovers, zooms without errors; the screenshot to look at.
	await page.goto("file://" + path.resolve(bigSvg));
	await page.waitForFunction(() => window.hf && hf.items.length > 0);
	const n = await page.evaluate(() => hf.items.length);
	check(n > 100, `big graph has ${n} frames`);
	await page.screenshot({ path: path.join(outDir, "flame.png") });
	const pick = await page.evaluate(() => {
		const it = hf.items.filter((i) => i.depth === 3).sort((a, b) => b.w - a.w)[0];
		const r = it.rect.getBoundingClientRect();
		return { name: it.name, x: r.x + r.width / 2, y: r.y + r.height / 2 };
	});
	await page.mouse.click(pick.x, pick.y);
	const zw = await page.evaluate((nm) => +hf.items.find((i) => i.name === nm && !i.g.classList.contains("hide")).rect.getAttribute("width"), pick.name);
	check(near(zw, 1180), `big graph: clicked ${pick.name} spans ${zw} px`);
	await page.screenshot({ path: path.join(outDir, "flame-big-zoomed.png") });

	// A differential graph: red and blue frames, hover shows the delta.
	await page.goto("file://" + path.resolve(diffSvg));
	await page.waitForFunction(() => window.hf && hf.items.length > 0);
	// Its two profiles share no stack: drawn leaves grew from 0 (red), the frames above
	// them carry no change of their own (white), as flamegraph.pl draws it.
	const hues = await page.evaluate(() => {
		let red = 0, white = 0;
		for (const it of hf.items) {
			const m = /rgb\((\d+),(\d+),(\d+)\)/.exec(it.fill);
			if (m && +m[1] === 255 && +m[3] < 255)
				red++;
			if (it.fill === "rgb(255,255,255)")
				white++;
		}
		return { red, white };
	});
	check(hues.red > 0 && hues.white > 0, `diff graph has ${hues.red} red and ${hues.white} white frames`);
	const d1 = await page.evaluate(() => {
		const r = hf.items[1].rect.getBoundingClientRect();
		return { x: r.x + r.width / 2, y: r.y + r.height / 2 };
	});
	await page.mouse.move(d1.x, d1.y);
	const ddet = await text("details");
	check(/^Function: .* \([\d,]+ samples, [\d.]+%; [+-]?[\d.]+%\)$/.test(ddet),
	      `diff hover details: "${ddet}"`);
	await page.screenshot({ path: path.join(outDir, "flame-diff.png") });

	// The small differential graph: main;grow 10 -> 30, main;shrink 20 -> 5,
	// main;same 7 -> 7. Only stacks' ends change: main is white and shows 0.00%.
	await page.goto("file://" + path.resolve(smallDiffSvg));
	await page.waitForFunction(() => window.hf && hf.items.length > 0);
	const fillOf = (name) => page.evaluate((n) => hf.items.find((i) => i.name === n).fill, name);
	check((await fillOf("main")) === "rgb(255,255,255)", `diff: main white (${await fillOf("main")})`);
	check((await fillOf("grow")) === "rgb(255,0,0)", `diff: grow full red (${await fillOf("grow")})`);
	check((await fillOf("shrink")) === "rgb(52,52,255)", `diff: shrink blue (${await fillOf("shrink")})`);
	check((await fillOf("same")) === "rgb(255,255,255)", "diff: same white");
	const hoverDetails = async (name) => {
		const g = await frame(name);
		await page.mouse.move(g.cx, g.cy);
		return text("details");
	};
	let dd = await hoverDetails("main");
	check(dd === "Function: main (42 samples, 100.00%; 0.00%)", `diff hover main: "${dd}"`);
	dd = await hoverDetails("grow");
	check(dd === "Function: grow (30 samples, 71.43%; +47.62%)", `diff hover grow: "${dd}"`);
	dd = await hoverDetails("shrink");
	check(dd === "Function: shrink (5 samples, 11.90%; -35.71%)", `diff hover shrink: "${dd}"`);
	// 42 samples over 1180 px; grow is first: zoom on it, then search.
	const grow = await frame("grow");
	await page.mouse.click(grow.cx, grow.cy);
	const gz = await frame("grow"), sz = await frame("shrink");
	check(near(gz.x, 10) && near(gz.w, 1180) && !sz.shown, `diff zoom on grow: x=${gz.x} w=${gz.w}`);
	await page.keyboard.press("Escape");
	answer = "^s";
	await page.keyboard.press("Control+f");
	matched = await text("matched");
	check(matched === "Matched: 28.6%", `diff search ^s (12 of 42): "${matched}"`);
	await page.screenshot({ path: path.join(outDir, "flame-diff-small.png") });

	// The flame chart of m;b 1, m;c 2, m;b 1, m 1, m;b 3: 8 samples, 147.5 px each;
	// three frames named b at 0, 3 and 5 samples, c at 1.
	await page.goto("file://" + path.resolve(chartSvg));
	await page.waitForFunction(() => window.hf && hf.items.length > 0);
	const bs = () => page.evaluate(() => hf.items.filter((i) => i.name === "b").map((i) => {
		const r = i.rect.getBoundingClientRect();
		return { x: +i.rect.getAttribute("x"), w: +i.rect.getAttribute("width"),
			 shown: getComputedStyle(i.g).display !== "none",
			 cx: r.x + r.width / 2, cy: r.y + r.height / 2 };
	}).sort((a, b) => a.x - b.x));
	let b = await bs();
	check(b.length === 3 && near(b[0].x, 10) && near(b[1].x, 10 + 3 * 147.5) &&
	      near(b[2].x, 10 + 5 * 147.5) && near(b[2].w, 3 * 147.5),
	      `chart: b at ${b.map((f) => f.x + "/" + f.w).join(" ")}`);
	const c = await frame("c");
	check(near(c.x, 10 + 147.5) && near(c.w, 2 * 147.5), `chart: c at ${c.x}/${c.w}`);
	check((await text("title")) === "Flame Chart", "chart title");
	await page.mouse.click(b[1].cx, b[1].cy);
	b = await bs();
	check(b[1].shown && near(b[1].x, 10) && near(b[1].w, 1180) && !b[0].shown && !b[2].shown,
	      `chart zoom on the second b: ${JSON.stringify(b.map((f) => [f.x, f.w, f.shown]))}`);
	check((await frame("m")).parent, "chart: m dimmed above the zoom");
	await page.screenshot({ path: path.join(outDir, "flame-chart-zoomed.png") });
	await page.keyboard.press("Escape");
	answer = "^b$";
	await page.keyboard.press("Control+f");
	matched = await text("matched");
	check(matched === "Matched: 62.5%", `chart search ^b$ (5 of 8): "${matched}"`);
	await page.screenshot({ path: path.join(outDir, "flame-chart.png") });

	check(errors.length === 0, `no console errors${errors.length ? ": " + errors.join("; ") : ""}`);
	check(requests.length === 0, `no network requests${requests.length ? ": " + requests.join(" ") : ""}`);
} catch (e) {
	console.log(`FAIL: ${e.stack || e}`);
	failures++;
} finally {
	if (ctx)
		await ctx.close();
	rmSync(profile, { recursive: true, force: true });
}
console.log(failures ? `flame.mjs: ${failures} failed` : "flame.mjs: PASS");
process.exit(failures ? 1 : 0);
