#!/usr/bin/env bash
# Draws RESULTS_DIR/chart.png from RESULTS_DIR/results.csv and RESULTS_DIR/limits.csv (bench/all.sh
# writes both; bench/lib.sh documents their columns) with gnuplot. Three panels, one bar per median:
#   1. throughput in GB/s, ours and the peer side by side for every workload and peer, with the
#      ratio ours/peer above each pair;
#   2. peak RSS in MiB of the same runs (log scale: ours is tens of MiB, some peers hundreds);
#   3. the physical limits in GB/s (bench/limits.sh).
# A panel without data is left out.
# Usage: bench/plot.sh RESULTS_DIR     Needs gnuplot (gnuplot-nox) and /usr/bin/python3.
set -euo pipefail

res=${1:?usage: plot.sh RESULTS_DIR}
command -v gnuplot > /dev/null || { echo "plot.sh: gnuplot is not installed (gnuplot-nox)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# CSV (quoted fields) to whitespace-separated rows with one double-quoted label, the form gnuplot
# reads: compare.dat "label" ours_gbps peer_gbps ratio ours_rss peer_rss; limits.dat "label" gbps.
/usr/bin/python3 - "$res" "$tmp" << 'EOF'
import csv, os, sys
res, tmp = sys.argv[1], sys.argv[2]

def label(text, width):
    text = " ".join(text.replace('"', "").split())
    return text if len(text) <= width else text[: width - 1] + "~"

def rows(name):
    path = os.path.join(res, name)
    if not os.path.exists(path):
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))

with open(os.path.join(tmp, "compare.dat"), "w") as out:
    for r in rows("results.csv"):
        # Two lines (gnuplot expands \n in quoted data strings): the workload, then the peer.
        out.write('"%s\\n%s" %s %s %s %s %s\n' % (r["workload"], label(r["peer"], 40), r["ours_gbps"],
                  r["peer_gbps"], r["ours_over_peer"], r["ours_rss_mib"], r["peer_rss_mib"]))
with open(os.path.join(tmp, "limits.dat"), "w") as out:
    for r in rows("limits.csv"):
        out.write('"%s" %s\n' % (label(r["limit"], 50), r["gbps"]))
EOF

n_cmp=$(wc -l < "$tmp/compare.dat")
n_lim=$(wc -l < "$tmp/limits.dat")
((n_cmp + n_lim > 0)) || { echo "plot.sh: no rows in $res/results.csv or $res/limits.csv" >&2; exit 1; }
panels=0
((n_cmp > 0)) && panels=$((panels + 2))
((n_lim > 0)) && panels=$((panels + 1))
width=$((n_cmp > n_lim ? n_cmp : n_lim))
width=$((width * 90 + 300))
((width < 1000)) && width=1000
height=$((panels * 600))
term="pngcairo noenhanced font 'DejaVu Sans,10'"
gnuplot -e 'set terminal' 2>&1 | grep -q pngcairo || term="png noenhanced"

{
  cat << EOF
set terminal $term size $width,$height
set output '$res/chart.png'
set multiplot layout $panels,1 title "cdi-dataplane bench: $(basename "$(readlink -f "$res")")"
set style fill solid 0.85 border -1
set grid ytics
set key top left
set xtics rotate by 30 right nomirror
set bmargin 14
set lmargin 12
set boxwidth 0.38
set offsets 0.6, 0.6, graph 0.1, 0
EOF
  if ((n_cmp > 0)); then
    cat << EOF
set title 'Throughput: virtual size / median time (GB/s, higher is better); ours/peer above each pair'
set ylabel 'GB/s'
set yrange [0:*]
plot '$tmp/compare.dat' using (\$0 - 0.2):2:xtic(1) with boxes lc rgb '#1f77b4' title 'ours', \
     '' using (\$0 + 0.2):3 with boxes lc rgb '#ff7f0e' title 'peer', \
     '' using 0:(\$2 > \$3 ? \$2 : \$3):(sprintf('%.2fx', \$4)) with labels offset 0,0.7 notitle
set title 'Peak RSS of each runner (MiB, largest over the runs, log scale, lower is better)'
set ylabel 'MiB'
set logscale y
set yrange [1:*]
plot '$tmp/compare.dat' using (\$0 - 0.2):5:xtic(1) with boxes lc rgb '#1f77b4' title 'ours', \
     '' using (\$0 + 0.2):6 with boxes lc rgb '#ff7f0e' title 'peer', \
     '' using (\$0 - 0.2):5:(sprintf('%.0f', \$5)) with labels offset 0,0.7 notitle, \
     '' using (\$0 + 0.2):6:(sprintf('%.0f', \$6)) with labels offset 0,0.7 notitle
unset logscale y
EOF
  fi
  if ((n_lim > 0)); then
    cat << EOF
set bmargin 17
set title 'Physical limits on this machine (GB/s, median): storage cold, decompressors, TLS and qemu-img warm'
set ylabel 'GB/s'
set yrange [0:*]
set boxwidth 0.6
plot '$tmp/limits.dat' using 0:2:xtic(1) with boxes lc rgb '#2ca02c' notitle, \
     '' using 0:2:(sprintf('%.2f', \$2)) with labels offset 0,0.7 notitle
EOF
  fi
  echo "unset multiplot"
} > "$tmp/chart.gp"
gnuplot "$tmp/chart.gp"
echo "plot.sh: wrote $res/chart.png" >&2
