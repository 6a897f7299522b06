/* heed-flame: interactivity of the SVG (hover details, click to zoom, regex search).
 * Written for heed; embedded verbatim inside a CDATA section of every SVG, so it must
 * never contain the three characters that close one. Geometry comes from data-*
 * attributes on #frames; frame names from each frame's <title>. */
"use strict";
var hf = {
	items: [],
	zoomed: null,
	term: null,
	ignorecase: false
};

function hfText(el, s) {
	el.textContent = s;
}

function hfLabel(it, x, w) {
	var fit = Math.floor((w - 3) / (hf.fontsize * hf.fontwidth));
	var s = "";
	if (fit >= 3 && it.name.length <= fit)
		s = it.name;
	else if (fit >= 3 && hf.truncleft)
		s = ".." + it.name.slice(it.name.length - (fit - 2));
	else if (fit >= 3)
		s = it.name.slice(0, fit - 2) + "..";
	if (!it.text) {
		if (s === "")
			return;
		it.text = document.createElementNS("http://www.w3.org/2000/svg", "text");
		it.text.setAttribute("y", it.ty);
		it.g.appendChild(it.text);
	}
	it.text.setAttribute("x", (x + 3).toFixed(2));
	hfText(it.text, s);
}

function hfPlace(it, x, w, hidden, parent) {
	it.g.classList.toggle("hide", hidden);
	it.g.classList.toggle("parent", parent);
	if (hidden)
		return;
	it.rect.setAttribute("x", x.toFixed(2));
	it.rect.setAttribute("width", w.toFixed(2));
	hfLabel(it, x, w);
}

function hfZoom(z) {
	var eps = 0.02, span = hf.width - 2 * hf.xpad, scale = span / z.w;
	hf.zoomed = z;
	hf.items.forEach(function (it) {
		var inside = it.x >= z.x - eps && it.x + it.w <= z.x + z.w + eps;
		var covers = it.x <= z.x + eps && it.x + it.w >= z.x + z.w - eps;
		if (it.depth >= z.depth && inside)
			hfPlace(it, hf.xpad + (it.x - z.x) * scale, it.w * scale, false, false);
		else if (it.depth < z.depth && covers)
			hfPlace(it, hf.xpad, span, false, true);
		else
			hfPlace(it, 0, 0, true, false);
	});
	document.getElementById("unzoom").classList.remove("hide");
}

function hfUnzoom() {
	hf.zoomed = null;
	hf.items.forEach(function (it) {
		hfPlace(it, it.x, it.w, false, false);
	});
	document.getElementById("unzoom").classList.add("hide");
}

function hfClearSearch() {
	hf.term = null;
	hf.items.forEach(function (it) {
		it.rect.setAttribute("fill", it.fill);
	});
	hfText(document.getElementById("matched"), " ");
	hfText(document.getElementById("search"), "Search");
}

/* Matched share of the whole graph: the union of the matching frames' extents, so a
 * match nested in another match is counted once. */
function hfSearch(term) {
	var re, spans = [], sum = 0, end = -1;
	hfClearSearch();
	if (term === null || term === "")
		return;
	try {
		re = new RegExp(term, hf.ignorecase ? "i" : "");
	} catch (e) {
		hfText(document.getElementById("matched"), "Bad regex: " + term);
		return;
	}
	hf.term = term;
	hf.items.forEach(function (it) {
		if (re.test(it.name)) {
			it.rect.setAttribute("fill", hf.searchcolor);
			spans.push([it.x, it.x + it.w]);
		}
	});
	spans.sort(function (a, b) {
		return a[0] - b[0];
	});
	spans.forEach(function (s) {
		if (s[1] <= end)
			return;
		sum += s[1] - Math.max(s[0], end);
		end = s[1];
	});
	hfText(document.getElementById("search"), "Reset Search");
	hfText(document.getElementById("matched"),
		"Matched: " + (100 * sum / (hf.width - 2 * hf.xpad)).toFixed(1) + "%");
}

function hfAskSearch() {
	var t = window.prompt("Search frames by regular expression" +
			      (hf.ignorecase ? " (ignoring case)" : ""), hf.term || "");
	if (t !== null)
		hfSearch(t);
}

function hfItem(g) {
	while (g && g.parentNode && g.parentNode.id !== "frames")
		g = g.parentNode;
	return g && g.hfItem ? g.hfItem : null;
}

function init() {
	var frames = document.getElementById("frames");
	var details = document.getElementById("details");
	var y0 = +frames.getAttribute("data-y0"), fh = +frames.getAttribute("data-fh");
	var nametype = frames.getAttribute("data-nametype");
	hf.xpad = +frames.getAttribute("data-xpad");
	hf.width = +frames.getAttribute("data-width");
	hf.fontsize = +frames.getAttribute("data-fontsize");
	hf.fontwidth = +frames.getAttribute("data-fontwidth");
	hf.searchcolor = frames.getAttribute("data-searchcolor");
	hf.truncleft = frames.getAttribute("data-truncate") === "left";
	Array.prototype.forEach.call(frames.children, function (g) {
		var rect = g.querySelector("rect"), title = g.querySelector("title").textContent;
		var y = +rect.getAttribute("y");
		var it = {
			g: g,
			rect: rect,
			text: g.querySelector("text"),
			info: title,
			name: title.slice(0, title.lastIndexOf(" (")),
			x: +rect.getAttribute("x"),
			w: +rect.getAttribute("width"),
			depth: Math.round(Math.abs(y - y0) / fh),
			fill: rect.getAttribute("fill"),
			ty: y + fh / 2 + hf.fontsize * 0.35
		};
		g.hfItem = it;
		hf.items.push(it);
	});
	frames.addEventListener("mouseover", function (e) {
		var it = hfItem(e.target);
		if (it)
			hfText(details, nametype + " " + it.info);
	});
	frames.addEventListener("mouseout", function () {
		hfText(details, " ");
	});
	frames.addEventListener("click", function (e) {
		var it = hfItem(e.target);
		if (it)
			hfZoom(it);
	});
	document.getElementById("unzoom").addEventListener("click", hfUnzoom);
	document.getElementById("search").addEventListener("click", function () {
		if (hf.term !== null)
			hfClearSearch();
		else
			hfAskSearch();
	});
	document.getElementById("ic").addEventListener("click", function () {
		hf.ignorecase = !hf.ignorecase;
		document.getElementById("ic").classList.toggle("on", hf.ignorecase);
		if (hf.term !== null)
			hfSearch(hf.term);
	});
	window.addEventListener("keydown", function (e) {
		if ((e.ctrlKey || e.metaKey) && (e.key === "f" || e.key === "F")) {
			e.preventDefault();
			hfAskSearch();
		} else if ((e.ctrlKey || e.metaKey) && (e.key === "i" || e.key === "I")) {
			e.preventDefault();
			document.getElementById("ic").dispatchEvent(new MouseEvent("click"));
		} else if (e.key === "Escape") {
			if (hf.zoomed)
				hfUnzoom();
			else if (hf.term !== null)
				hfClearSearch();
		}
	});
}
