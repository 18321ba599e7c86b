#!/usr/bin/env python3
"""Plots pass time (wall, and the leader's CPU time dashed) against the number of managed
Deployments from bench/loop_scale.sh's CSV
(MLA_LOOP_CSV: n,pass,seconds,queries,samples,bytes,api,rss_mb,peak_mb,load1[,cpu_s]) as an
SVG.
Standard library only.  Usage: plot_loop_scale.py CSV OUT.svg"""
import csv
import math
import sys

rows = [r for r in csv.reader(open(sys.argv[1])) if r and r[0][0].isdigit()]
series = {0: ("pass 0: full lookback (first pass after a start or a leader change)", "#d62728"),
          1: ("pass 1: one new 300 s point per ScaledObject (and 2 fetched again)", "#1f77b4"),
          2: ("pass 2: same step, nothing new to fetch", "#2ca02c")}
pts = {k: [] for k in series}
cpu = {k: [] for k in series}  # the leader's CPU time in the pass (column 11, when present)
for r in rows:
    n, p, s = int(r[0]), int(r[1]), float(r[2])
    if p in pts:
        pts[p].append((n, s))
        if len(r) > 10 and r[10]:
            cpu[p].append((n, float(r[10])))
W, H, L, R, T, B = 760, 460, 70, 20, 30, 170
ns = sorted({n for v in pts.values() for n, _ in v}) or [100, 10000]
xmin, xmax = math.log10(min(ns)) - 0.15, math.log10(max(ns)) + 0.15
ymax = max([s for v in pts.values() for _, s in v] + [60]) * 1.1
ylog_min, ylog_max = -2, math.log10(ymax)
def x(n): return L + (math.log10(n) - xmin) / (xmax - xmin) * (W - L - R)
def y(s): return T + (1 - (math.log10(max(s, 0.01)) - ylog_min) / (ylog_max - ylog_min)) * (H - T - B)
out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">' % (W, H),
       '<rect width="100%" height="100%" fill="white"/>',
       '<text x="%d" y="18" font-size="14">Loop pass time vs managed Deployments (log-log; mla-testapi + mla-testprom, one leader)</text>' % L]
for e in range(ylog_min, int(math.ceil(ylog_max)) + 1):
    v = 10 ** e
    if v > ymax * 1.01: break
    out.append('<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#ddd"/>' % (L, W - R, y(v), y(v)))
    out.append('<text x="%d" y="%.1f" text-anchor="end">%g s</text>' % (L - 6, y(v) + 4, v))
out.append('<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#999" stroke-dasharray="6,4"/>' % (L, W - R, y(60), y(60)))
out.append('<text x="%d" y="%.1f" fill="#666">default interval 60 s</text>' % (L + 6, y(60) - 4))
for n in ns:
    out.append('<line x1="%.1f" x2="%.1f" y1="%d" y2="%d" stroke="#ddd"/>' % (x(n), x(n), T, H - B))
    out.append('<text x="%.1f" y="%d" text-anchor="middle">%s</text>' % (x(n), H - B + 16, format(n, ",")))
out.append('<text x="%d" y="%d" text-anchor="middle">managed Deployments (ScaledObjects with predictive-config)</text>' % ((L + W - R) // 2, H - B + 34))
for k, (label, color) in series.items():
    v = sorted(pts[k])
    if not v: continue
    out.append('<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>' % (color, " ".join("%.1f,%.1f" % (x(n), y(s)) for n, s in v)))
    for n, s in v:
        out.append('<circle cx="%.1f" cy="%.1f" r="3.5" fill="%s"><title>%d: %.2f s</title></circle>' % (x(n), y(s), color, n, s))
    c = sorted(cpu[k])
    if c:
        out.append('<polyline fill="none" stroke="%s" stroke-width="1.5" stroke-dasharray="4,3" points="%s"/>' % (color, " ".join("%.1f,%.1f" % (x(n), y(s)) for n, s in c)))
        for n, s in c:
            out.append('<circle cx="%.1f" cy="%.1f" r="2.5" fill="white" stroke="%s"><title>%d: leader CPU %.2f s</title></circle>' % (x(n), y(s), color, n, s))
    ly = H - B + 56 + 20 * k
    out.append('<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="%s" stroke-width="2"/>' % (L, L + 24, ly - 4, ly - 4, color))
    out.append('<text x="%d" y="%d">%s</text>' % (L + 30, ly, label))
out.append('<text x="%d" y="%d">solid: wall time of the pass; dashed: the leader\'s CPU time in it</text>' % (L, H - B + 56 + 20 * len(series)))
out.append('</svg>')
open(sys.argv[2], "w").write("\n".join(out) + "\n")
