# bench/soak.sh's chart: the hub's RSS and history size, and its open descriptors and
# connections, over the run.
# gnuplot -e "datafile='soak.csv'; outfile='soak.png'" bench/soak.gp
set terminal pngcairo size 1100,420 font "sans,10"
set output outfile
set datafile separator ","
set key autotitle columnhead
set multiplot layout 1,2
set grid
set xlabel "minutes"
set key below

set title "RSS (MiB) and history (thousands of events)"
set yrange [0:*]
plot datafile using (column("t_s")/60):(column("rss_kib")/1024.0) with linespoints title "RSS, MiB", \
     '' using (column("t_s")/60):(column("history_events")/1000.0) with linespoints title "history, k events"

set title "open descriptors and connections"
plot datafile using (column("t_s")/60):(column("fds")) with linespoints title "descriptors", \
     '' using (column("t_s")/60):(column("connections")) with linespoints title "connections", \
     '' using (column("t_s")/60):(column("other_fds")) with linespoints title "descriptors - connections"
unset multiplot
