/* neurodash: the Network tab's graph, drawn on a <canvas>.
 *
 * Why a canvas: a 3x512 network has 1,551 neurons and thousands of drawn weights. As a
 * Plotly scatter (SVG), every live colour update cost the browser 100-200 ms, long
 * enough to swallow a click; drawn here it costs a few milliseconds.
 *
 * What is drawn comes from the server in three parts (dashapp/figures/graph.py), each
 * as JSON text:
 *   scene     -- columns (node positions, titles, input/output names), edge groups, style;
 *   values    -- every neuron's current output (the colours), the pick, the step;
 *   highlight -- the selected neuron's strongest weights.
 * The selection ({kind: "neuron", column, index} or {kind: "layer", column}) lives in the
 * "network-selection" store; a click here sets it (dash_clientside.set_props), so a
 * click reaches the inspector without a round trip through this graph.
 *
 * Dash calls dash_clientside.neurodash.drawNetwork when the scene, the values or the
 * selection change, and drawHighlight when the highlight does.
 * window.neurodash.network exposes the geometry (nodeCenter, titleCenter, hit) and the
 * last drawn state for tests and the benchmark.
 */
(function () {
    "use strict";

    var CONTAINER = "network-graph";
    var SELECTION_STORE = "network-selection";
    var FONT = "12px system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif";
    var TITLE_FONT = "bold 13px system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif";
    var LINE = 16;           // px per line of title text
    var PAD = 8;             // px between a node and its label, and around the drawing
    var states = {};         // per container id: what was drawn last, and its geometry

    // ------------------------------------------------------------------ colours
    function hexToRgb(hex) {
        var h = hex.replace("#", "");
        return [parseInt(h.slice(0, 2), 16), parseInt(h.slice(2, 4), 16), parseInt(h.slice(4, 6), 16)];
    }

    /** The colour of value v in a colour scale [[0, "#rrggbb"], ..., [1, "#rrggbb"]] spanning
     *  [-range, +range] (linear between stops, as Plotly interpolates). */
    function colourOf(v, range, scale) {
        if (v === null || v === undefined || !isFinite(v)) { return null; }
        var t = range > 0 ? (v + range) / (2 * range) : 0.5;
        t = Math.min(1, Math.max(0, t));
        for (var i = 1; i < scale.length; i++) {
            if (t <= scale[i][0] || i === scale.length - 1) {
                var a = hexToRgb(scale[i - 1][1]), b = hexToRgb(scale[i][1]);
                var span = scale[i][0] - scale[i - 1][0];
                var f = span > 0 ? (t - scale[i - 1][0]) / span : 0;
                var mix = [0, 1, 2].map(function (k) { return Math.round(a[k] + f * (b[k] - a[k])); });
                return "rgb(" + mix.join(",") + ")";
            }
        }
        return null;
    }

    /** The dashboard's number format (dashapp/figures/common.py fmt): four significant
     *  digits, powers of ten outside 0.001 to 10,000 ("1.23e+04"), "–" when missing. */
    function fmt(v) {
        if (v === null || v === undefined || !isFinite(v)) { return "\u2013"; }
        var a = Math.abs(Number(v.toPrecision(4)));  // judged after rounding, as in common.fmt
        if (a !== 0 && (a >= 10000 || a < 0.001)) {
            var parts = v.toExponential(2).split("e"), exp = parseInt(parts[1], 10);
            return parts[0] + "e" + (exp < 0 ? "-" : "+") + (Math.abs(exp) < 10 ? "0" : "") + Math.abs(exp);
        }
        return String(Number(v.toPrecision(4)));
    }

    // ------------------------------------------------------------------ geometry
    /** Pixel geometry of a scene in a width x height box: where each column and node is
     *  drawn, each node's radius, and each title's clickable box. */
    function geometry(ctx, scene, width, height) {
        var cols = scene.columns, n = cols.length;
        var titleLines = cols.reduce(function (m, c) { return Math.max(m, c.title.length); }, 1);
        var top = PAD + titleLines * LINE + 14, bottom = PAD + 4;
        ctx.font = FONT;
        var widest = function (labels, extra) {
            return (labels || []).reduce(function (m, s) { return Math.max(m, ctx.measureText(s + extra).width); }, 0);
        };
        var left = PAD + 10 + (n && cols[0].kind === "input" ? widest(cols[0].labels, "") + PAD : 0);
        // output names are followed by their value and, for the pick, "◀ best": keep room for both
        var last = n ? cols[n - 1] : null, mark = scene.pick ? " ◀ " + scene.pick : "";
        var right = PAD + 10 + (last && last.kind === "output" ? widest(last.labels, " -1.23e+03" + mark) + PAD : 0);
        left = Math.min(left, width * 0.3);
        right = Math.min(right, width * 0.3);
        var ymin = Infinity, ymax = -Infinity;
        cols.forEach(function (c) {
            c.y.forEach(function (y) { ymin = Math.min(ymin, y); ymax = Math.max(ymax, y); });
        });
        if (!isFinite(ymin)) { ymin = -0.5; ymax = 0.5; }
        var spanY = ymax - ymin, usable = Math.max(1, height - top - bottom);
        var scaleY = spanY > 0 ? usable / spanY : 0;
        var mid = (top + height - bottom) / 2;
        var xs = cols.map(function (c, i) {
            return n > 1 ? left + i * (width - left - right) / (n - 1) : width / 2;
        });
        var ys = cols.map(function (c) {
            return c.y.map(function (y) { return scaleY ? top + (ymax - y) * scaleY : mid; });
        });
        var radius = cols.map(function (c, i) {
            var gap = ys[i].length > 1 ? Math.abs(ys[i][1] - ys[i][0]) : 40;
            return Math.max(2, Math.min(8, 0.4 * gap));
        });
        ctx.font = TITLE_FONT;
        var titles = cols.map(function (c, i) {
            var w = c.title.reduce(function (m, s) { return Math.max(m, ctx.measureText(s).width); }, 0);
            var x = Math.min(Math.max(xs[i], w / 2 + 2), width - w / 2 - 2);
            return {x: x, y: PAD, w: w, h: c.title.length * LINE,
                    box: [x - w / 2 - 4, PAD - 4, x + w / 2 + 4, PAD + c.title.length * LINE + 4]};
        });
        return {width: width, height: height, xs: xs, ys: ys, radius: radius, titles: titles, top: top};
    }

    /** What is under the point (x, y) (CSS px inside the canvas): a layer title, a neuron,
     *  or null. A neuron counts within a few px of its circle; in a dense column the
     *  nearest one wins. */
    function hitTest(g, x, y) {
        if (!g) { return null; }
        for (var c = 0; c < g.titles.length; c++) {
            var b = g.titles[c].box;
            if (x >= b[0] && x <= b[2] && y >= b[1] && y <= b[3]) { return {kind: "layer", column: c}; }
        }
        var best = null, bestD = Infinity;
        for (c = 0; c < g.xs.length; c++) {
            var reach = Math.max(g.radius[c] + 3, 6);
            var dx = Math.abs(x - g.xs[c]);
            if (dx > reach) { continue; }
            var ys = g.ys[c];
            for (var i = 0; i < ys.length; i++) {
                var dy = Math.abs(y - ys[i]);
                if (dy > reach) { continue; }
                var d = dx * dx + dy * dy;
                if (d < bestD && d <= reach * reach) { bestD = d; best = {kind: "neuron", column: c, index: i}; }
            }
        }
        return best;
    }

    // ------------------------------------------------------------------ drawing
    function sameNeuron(a, b) {
        return a && b && a.column === b.column && a.index === b.index;
    }

    function drawMessage(ctx, width, height, message) {
        ctx.fillStyle = "#5f6b7a";
        ctx.font = FONT;
        ctx.textAlign = "center";
        ctx.textBaseline = "middle";
        ctx.fillText(message, width / 2, height / 2);
    }

    function draw(st) {
        var canvas = st.canvas, box = st.container;
        var width = box.clientWidth, height = box.clientHeight;
        if (!width || !height) {  // not laid out (yet): the resize observer draws later
            st.dirty = true;
            return false;
        }
        var t0 = performance.now();
        var dpr = window.devicePixelRatio || 1;
        if (canvas.width !== Math.round(width * dpr) || canvas.height !== Math.round(height * dpr)) {
            canvas.width = Math.round(width * dpr);
            canvas.height = Math.round(height * dpr);
            canvas.style.width = width + "px";
            canvas.style.height = height + "px";
        }
        var ctx = canvas.getContext("2d");
        ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
        ctx.clearRect(0, 0, width, height);
        var scene = st.scene;
        if (!scene || !scene.columns) {
            st.geometry = null;
            drawMessage(ctx, width, height, (scene && scene.message) || "");
            return true;
        }
        if (!st.geometry || st.geometryFor !== scene || st.geometry.width !== width || st.geometry.height !== height) {
            st.geometry = geometry(ctx, scene, width, height);
            st.geometryFor = scene;
        }
        var g = st.geometry, S = scene.style, cols = scene.columns;
        var values = st.values && st.values.values && st.values.values.length === cols.length ? st.values : null;
        var sel = st.selection && typeof st.selection === "object" ? st.selection : null;
        if (sel && !(sel.column >= 0 && sel.column < cols.length)) { sel = null; }

        // a selected layer: a dotted box behind its column
        if (sel && sel.kind === "layer") {
            var yc = g.ys[sel.column];
            var y0 = yc.length ? Math.min.apply(null, yc) : g.top, y1 = yc.length ? Math.max.apply(null, yc) : g.top;
            ctx.save();
            ctx.fillStyle = "rgba(0,0,0,0.04)";
            ctx.strokeStyle = "#444";
            ctx.lineWidth = 1.5;
            ctx.setLineDash([3, 3]);
            var half = Math.max(22, g.radius[sel.column] + 14);
            ctx.fillRect(g.xs[sel.column] - half, y0 - 14, 2 * half, y1 - y0 + 28);
            ctx.strokeRect(g.xs[sel.column] - half, y0 - 14, 2 * half, y1 - y0 + 28);
            ctx.restore();
        }

        // the edges: one path per (layer, sign, strength) group; faded while a neuron's
        // own weights are shown over them
        var hl = st.highlight;
        var showHighlight = sel && sel.kind === "neuron" && hl && sameNeuron(hl, sel) && g.ys[sel.column];
        ctx.globalAlpha = showHighlight ? 0.35 : 1;
        scene.edges.forEach(function (e) {
            var xa = g.xs[e.column - 1], xb = g.xs[e.column], ya = g.ys[e.column - 1], yb = g.ys[e.column];
            ctx.beginPath();
            for (var i = 0; i < e.src.length; i++) {
                ctx.moveTo(xa, ya[e.src[i]]);
                ctx.lineTo(xb, yb[e.dst[i]]);
            }
            ctx.lineWidth = S.edge_widths[e.level];
            ctx.strokeStyle = "rgba(" + (e.sign > 0 ? S.positive : S.negative) + "," + S.edge_alphas[e.level] + ")";
            ctx.stroke();
        });

        ctx.globalAlpha = 1;

        // the selected neuron's own weights, over the others
        if (showHighlight) {
            var x0 = g.xs[sel.column], y0n = g.ys[sel.column][sel.index];
            [1, -1].forEach(function (sign) {
                ctx.beginPath();
                hl.edges.forEach(function (e) {
                    if (e[2] !== sign || !g.ys[e[0]] || g.ys[e[0]][e[1]] === undefined) { return; }
                    ctx.moveTo(x0, y0n);
                    ctx.lineTo(g.xs[e[0]], g.ys[e[0]][e[1]]);
                });
                ctx.lineWidth = S.selected_width;
                ctx.strokeStyle = "rgba(" + (sign > 0 ? S.positive : S.negative) + "," + S.selected_alpha + ")";
                ctx.stroke();
            });
        }

        // the neurons, coloured by their current output
        ctx.lineWidth = 0.6;
        ctx.strokeStyle = S.node_line;
        cols.forEach(function (col, c) {
            var r = g.radius[c], x = g.xs[c], ys = g.ys[c];
            var vals = values ? values.values[c] : null, range = values ? values.ranges[c] : 1;
            for (var i = 0; i < ys.length; i++) {
                ctx.beginPath();
                ctx.arc(x, ys[i], r, 0, 2 * Math.PI);
                ctx.fillStyle = (vals && colourOf(vals[i], range, S.colorscale)) || S.no_value;
                ctx.fill();
                if (r >= 2.5) { ctx.stroke(); }
            }
        });

        // names of the inputs (left) and of the outputs with their values (right)
        ctx.font = FONT;
        ctx.textBaseline = "middle";
        ctx.fillStyle = S.text;
        cols.forEach(function (col, c) {
            if (!col.labels) { return; }
            var input = col.kind === "input";
            ctx.textAlign = input ? "right" : "left";
            var dx = (input ? -1 : 1) * (g.radius[c] + PAD);
            col.labels.forEach(function (name, i) {
                var text = name;
                if (!input) {
                    var v = values ? values.values[c][i] : null;
                    var picked = values && scene.pick && values.action === i;
                    text = name + " " + fmt(v) + (picked ? " ◀ " + scene.pick : "");
                }
                ctx.fillText(text, g.xs[c] + dx, g.ys[c][i]);
            });
        });

        // column titles (clickable)
        ctx.font = TITLE_FONT;
        ctx.textAlign = "center";
        ctx.textBaseline = "top";
        ctx.fillStyle = S.title;
        cols.forEach(function (col, c) {
            col.title.forEach(function (line, k) { ctx.fillText(line, g.titles[c].x, g.titles[c].y + k * LINE); });
        });

        // the selected neuron: a ring
        if (sel && sel.kind === "neuron" && g.ys[sel.column] && g.ys[sel.column][sel.index] !== undefined) {
            ctx.beginPath();
            var ring = Math.max(g.radius[sel.column] + 4, 9);
            ctx.arc(g.xs[sel.column], g.ys[sel.column][sel.index], ring, 0, 2 * Math.PI);
            ctx.lineWidth = 3;
            ctx.strokeStyle = "#111";
            ctx.stroke();
        }
        st.dirty = false;
        st.draws += 1;
        st.drawnAt = performance.now();
        st.drawMs = st.drawnAt - t0;
        canvas.dataset.draws = String(st.draws);
        canvas.dataset.step = values ? String(values.step) : "";
        return true;
    }

    // ------------------------------------------------------------------ interaction
    function describe(st, hit) {
        var cols = st.scene.columns, col = cols[hit.column];
        if (hit.kind === "layer") { return [col.title.join(" "), "click to inspect this layer"]; }
        var v = st.values && st.values.values[hit.column] ? st.values.values[hit.column][hit.index] : null;
        if (col.kind === "input") { return [col.labels[hit.index], "value " + fmt(v)]; }
        if (col.kind === "output") { return [col.labels[hit.index], (st.scene.value || "Q-value") + " " + fmt(v)]; }
        return [col.name + " #" + hit.index, "output " + fmt(v)];
    }

    function showTooltip(st, hit, x, y) {
        var tip = st.tooltip;
        if (!tip) { return; }
        if (!hit) { tip.style.display = "none"; return; }
        var lines = describe(st, hit);
        tip.textContent = "";  // names come from the run's files: text, never HTML
        var head = document.createElement("b");
        head.textContent = lines[0];
        tip.appendChild(head);
        tip.appendChild(document.createElement("br"));
        tip.appendChild(document.createTextNode(lines[1]));
        tip.style.display = "block";
        var w = tip.offsetWidth, h = tip.offsetHeight;
        tip.style.left = Math.min(x + 14, st.container.clientWidth - w - 4) + "px";
        tip.style.top = Math.max(4, Math.min(y + 14, st.container.clientHeight - h - 4)) + "px";
    }

    function pointer(st, ev) {
        var r = st.canvas.getBoundingClientRect();
        return [ev.clientX - r.left, ev.clientY - r.top];
    }

    /** The geometry to hit-test against: only the one drawn for the current scene (a new
     *  scene is drawn a frame later; until then a click would land on the old layout). */
    function current(st) {
        return st.scene && st.scene.columns && st.geometryFor === st.scene && !st.dirty ? st.geometry : null;
    }

    function select(st, sel) {
        st.selection = sel;
        if (window.dash_clientside && window.dash_clientside.set_props) {
            window.dash_clientside.set_props(SELECTION_STORE, {data: sel});
        } else {
            schedule(st);
        }
    }

    /** The neuron an arrow key moves to: up/down within the column, left/right to the
     *  neighbouring column at the same height. */
    function step(st, key) {
        var cols = st.scene.columns, sel = st.selection;
        if (!sel || sel.kind !== "neuron" || !cols[sel.column]) {
            var first = cols.length > 2 ? 1 : 0;
            return cols[first] && cols[first].size ? {kind: "neuron", column: first, index: 0} : null;
        }
        var c = sel.column, i = sel.index;
        if (key === "ArrowUp") { i -= 1; }
        if (key === "ArrowDown") { i += 1; }
        if (key === "ArrowLeft" || key === "ArrowRight") {
            var to = c + (key === "ArrowLeft" ? -1 : 1);
            if (!cols[to] || !cols[to].size) { return null; }
            i = Math.round(i * (cols[to].size - 1) / Math.max(cols[c].size - 1, 1));
            c = to;
        }
        if (i < 0 || i >= cols[c].size) { return null; }
        return {kind: "neuron", column: c, index: i};
    }

    function attach(st) {
        st.canvas.tabIndex = 0;  // reachable with the keyboard: arrow keys move between neurons
        st.canvas.addEventListener("keydown", function (ev) {
            if (!current(st) || ["ArrowUp", "ArrowDown", "ArrowLeft", "ArrowRight"].indexOf(ev.key) < 0) { return; }
            ev.preventDefault();  // the arrows move the selection, not the page
            var next = step(st, ev.key);
            if (next) { select(st, next); }
        });
        st.canvas.addEventListener("mousemove", function (ev) {
            if (!current(st)) { return; }
            var p = pointer(st, ev), hit = hitTest(st.geometry, p[0], p[1]);
            st.canvas.style.cursor = hit ? "pointer" : "default";
            showTooltip(st, hit, p[0], p[1]);
        });
        st.canvas.addEventListener("mouseleave", function () { showTooltip(st, null); });
        st.canvas.addEventListener("click", function (ev) {
            if (!current(st)) { return; }
            var p = pointer(st, ev), hit = hitTest(st.geometry, p[0], p[1]);
            // ask for the inspector (its request leaves at once); the ring is drawn in the
            // next frame, by drawNetwork, which the new selection sets off
            if (hit) { select(st, hit); }
        });
        if (window.ResizeObserver) {
            new ResizeObserver(function () {
                var g = st.geometry, box = st.container;
                if (!st.dirty && g && g.width === box.clientWidth && g.height === box.clientHeight) { return; }
                draw(st);
            }).observe(st.container);
        }
    }

    function stateFor(id) {
        var box = document.getElementById(id);
        if (!box) { return null; }
        var st = states[id];
        if (!st || st.container !== box || !box.contains(st.canvas)) {
            var canvas = box.querySelector("canvas");
            if (!canvas) { return null; }
            st = states[id] = {container: box, canvas: canvas, tooltip: box.querySelector(".network-tooltip"),
                               draws: 0, drawMs: null, drawnAt: null, pending: false, dirty: false,
                               scene: null, values: null, highlight: null, selection: null};
            attach(st);
        }
        return st;
    }

    /** The server sends the scene, values and highlight as JSON text (a string costs
     *  Dash nothing to store and compare; a big nested object costs it tens of ms).
     *  Parse each text once. Objects are taken as they are. */
    function parsed(st, key, value) {
        if (typeof value !== "string") { return value; }
        var cache = st.texts || (st.texts = {});
        if (!cache[key] || cache[key][0] !== value) { cache[key] = [value, JSON.parse(value)]; }
        return cache[key][1];
    }

    /** Draw in the next animation frame (several updates in one frame draw once). Dash
     *  sends a callback's requests only after its client-side callbacks have returned:
     *  drawing later lets a click's request to the server leave first. */
    function schedule(st) {
        if (st.pending) { return; }
        st.pending = true;
        window.requestAnimationFrame(function () { st.pending = false; draw(st); });
    }

    /** Draw the graph in container ``id``; returns the caption under it. With ``later``,
     *  a change of the selection alone is drawn in the next frame (a click's request
     *  leaves first); new data is drawn at once (before the page turns to anything else,
     *  e.g. drawing the analysis charts that follow the graph). */
    function update(id, scene, values, highlight, selection, later) {
        var st = stateFor(id);
        if (!st) { return ""; }
        st.sceneText = scene;
        st.valuesText = values;
        scene = parsed(st, "scene", scene);
        values = parsed(st, "values", values);
        highlight = parsed(st, "highlight", highlight) || null;
        var newData = (scene || null) !== st.scene || (values || null) !== st.values || highlight !== st.highlight;
        st.scene = scene || null;
        st.values = values || null;
        st.highlight = highlight;
        st.selection = selection || null;
        if (later && !newData) { schedule(st); } else { draw(st); }
        if (!scene || !scene.columns) { return ""; }
        var nodes = scene.columns.reduce(function (m, c) { return m + c.size; }, 0);
        var edges = scene.edges.reduce(function (m, e) { return m + e.src.length; }, 0);
        var parts = [nodes.toLocaleString("en") + " neurons",
                     edges.toLocaleString("en") + " connections drawn (each neuron's strongest " + scene.k +
                     " in and out)"];
        if (values) { parts.unshift("step " + values.step.toLocaleString("en")); }
        return parts.join(" · ");
    }

    function centre(id, column, index) {
        var st = states[id || CONTAINER], g = st && st.geometry;
        if (!g || !g.ys[column] || g.ys[column][index] === undefined) { return null; }
        var r = st.canvas.getBoundingClientRect();
        return {x: r.left + g.xs[column], y: r.top + g.ys[column][index]};
    }

    function titleCentre(id, column) {
        var st = states[id || CONTAINER], g = st && st.geometry;
        if (!g || !g.titles[column]) { return null; }
        var r = st.canvas.getBoundingClientRect(), t = g.titles[column];
        return {x: r.left + t.x, y: r.top + t.y + t.h / 2};
    }

    window.neurodash = window.neurodash || {};
    window.neurodash.network = {
        update: update, hitTest: hitTest, colourOf: colourOf, fmt: fmt,
        nodeCenter: centre, titleCenter: titleCentre,
        state: function (id) { return states[id || CONTAINER] || null; }
    };
    window.dash_clientside = window.dash_clientside || {};
    window.dash_clientside.neurodash = Object.assign(window.dash_clientside.neurodash || {}, {
        // two callbacks, not one: Dash holds a callback back while another that feeds one of
        // its inputs is on its way, and the highlight is asked for after the scene arrives
        drawNetwork: function (scene, values, selection) {
            var st = stateFor(CONTAINER);
            return update(CONTAINER, scene, values, st ? st.highlightText : null, selection, true);
        },
        drawHighlight: function (highlight) {
            var st = stateFor(CONTAINER);
            if (!st || (highlight || null) === (st.highlightText || null)) { return window.dash_clientside.no_update; }
            st.highlightText = highlight;
            st.highlight = parsed(st, "highlight", highlight) || null;
            schedule(st);  // in the next frame: the inspector, arriving with it, is shown first
            return window.dash_clientside.no_update;
        }
    });
})();
