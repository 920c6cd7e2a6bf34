# bench/run.sh's chart: deliveries per server-CPU-second and p99 latency per server.
# gnuplot -e "datafile='chart.dat'; outfile='chart.png'" bench/chart.gp
set terminal pngcairo size 1100,450 font "sans,10"
set output outfile
set multiplot layout 1,2
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set key top right
set grid ytics
set yrange [0:*]

set title "Deliveries per server-CPU-second (higher is better)"
set format y "%.1s%c"
plot datafile using 2:xtic(1) title "closed-loop", \
     '' using 3 title "10 msg/s"

set title "p99 publish-to-receive latency, ms (lower is better)"
set format y "%g"
set logscale y
set yrange [0.1:*]
plot datafile using 4:xtic(1) title "closed-loop", \
     '' using 5 title "10 msg/s"
unset multiplot
