// heed-dash page behaviour: sort the tables, filter benchmarks, point tooltips.
// The page is complete without it; this only adds interaction.
(function () {
	'use strict';

	function cellKey(row, i, type) {
		var cell = row.cells[i];
		if (type === 'num') {
			var v = parseFloat(cell.getAttribute('data-v'));
			return isNaN(v) ? -Infinity : v;
		}
		return cell.textContent;
	}

	document.querySelectorAll('table.sortable').forEach(function (table) {
		var heads = table.tHead.rows[0].cells;
		Array.prototype.forEach.call(heads, function (th, i) {
			th.addEventListener('click', function () {
				var type = th.getAttribute('data-type');
				var asc = !th.classList.contains('asc');
				Array.prototype.forEach.call(heads, function (h) {
					h.classList.remove('asc', 'desc');
				});
				th.classList.add(asc ? 'asc' : 'desc');
				var body = table.tBodies[0];
				var rows = Array.prototype.slice.call(body.rows);
				rows.sort(function (a, b) {
					var x = cellKey(a, i, type), y = cellKey(b, i, type);
					var c = type === 'num' ? x - y : String(x).localeCompare(String(y));
					return asc ? c : -c;
				});
				rows.forEach(function (r) { body.appendChild(r); });
			});
		});
	});

	var filter = document.getElementById('filter');
	if (filter) {
		filter.addEventListener('input', function () {
			var q = filter.value.toLowerCase();
			document.querySelectorAll('#compare-table tbody tr').forEach(function (r) {
				r.hidden = q !== '' && r.textContent.toLowerCase().indexOf(q) < 0;
			});
			document.querySelectorAll('figure.trend').forEach(function (fig) {
				var name = (fig.getAttribute('data-name') || '').toLowerCase();
				fig.hidden = q !== '' && name.indexOf(q) < 0;
			});
		});
	}

	var tip = document.getElementById('tip');
	document.querySelectorAll('circle[data-tip]').forEach(function (c) {
		c.addEventListener('mouseenter', function (e) {
			tip.textContent = c.getAttribute('data-tip');
			tip.hidden = false;
			tip.style.left = (e.clientX + 12) + 'px';
			tip.style.top = (e.clientY - 28) + 'px';
		});
		c.addEventListener('mouseleave', function () { tip.hidden = true; });
	});
})();
