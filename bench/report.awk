# bench/report.awk - Markdown report of bench/run.sh's rows (LABEL KIND ROUND key=value...).
# Ratios are variant / ref within the same round; the headline shows the median over the
# rounds of those per-round ratios, next to the medians of the raw values.
BEGIN { FS = "\t"; nv = split(variants == "" ? "simple fast" : variants, VS, " ") }
{
    n++; L[n] = $1; K[n] = $2; R[n] = $3
    for (i = 4; i <= NF; i++) { p = index($i, "="); V[n, substr($i, 1, p - 1)] = substr($i, p + 1) }
    if ($3 + 0 > maxr) maxr = $3 + 0
}
function ok(i) { return V[i, "status"] == "ok" }
function num(x) { return x != "" && x != "NA" && x ~ /^-?[0-9.]+$/ }
function median(arr, m,   i, j, v) {
    if (!m) return "NA"
    for (i = 2; i <= m; i++) { v = arr[i]; for (j = i - 1; j >= 1 && arr[j] > v; j--) arr[j + 1] = arr[j]; arr[j + 1] = v }
    return (m % 2) ? arr[(m + 1) / 2] : (arr[m / 2] + arr[m / 2 + 1]) / 2
}
function med(kind, key,   i, m, a) { m = 0; for (i = 1; i <= n; i++) if (K[i] == kind && ok(i) && num(V[i, key])) a[++m] = V[i, key] + 0; return median(a, m) }
function val(kind, round, key,   i) { for (i = 1; i <= n; i++) if (K[i] == kind && R[i] == round && ok(i) && num(V[i, key])) return V[i, key] + 0; return "NA" }
function rratio(kind, key, round,   a, b) { a = val(kind, round, key); b = val("ref", round, key); return (a == "NA" || b == "NA" || b == 0) ? "NA" : a / b }
function medratio(kind, key,   r, m, a, x) { m = 0; for (r = 1; r <= maxr; r++) { x = rratio(kind, key, r); if (x != "NA") a[++m] = x }; return median(a, m) }
function f(x, fmt) { return x == "NA" ? "NA" : sprintf(fmt, x) }
function verdict(x, target, better) {
    if (x == "NA" || target == "") return ""
    return (better == "higher" ? x >= target : x <= target) ? "met" : "**missed**"
}
# variants: the warren kinds (-v variants="simple fast ..."); the last one is judged against the target
function line(name, key, fmt, target, better,   i, out, rf) {
    out = "| " name " | " f(med("ref", key), fmt)
    for (i = 1; i <= nv; i++) out = out " | " f(med(VS[i], key), fmt)
    for (i = 1; i <= nv; i++) { rf = medratio(VS[i], key); out = out " | " f(rf, "%.2f") }
    printf "%s | %s | %s |\n", out, (target == "" ? "" : (better == "higher" ? ">= " : "<= ") target), verdict(rf, target, better)
}
END {
    print "### Headline: equal 4 MiB server buffers, same client binary (medians over rounds)"
    print ""
    hdr = "| metric | ref"; sep = "|---|---:"
    for (i = 1; i <= nv; i++) { hdr = hdr " | " VS[i]; sep = sep "|---:" }
    for (i = 1; i <= nv; i++) { hdr = hdr " | " VS[i] " / ref"; sep = sep "|---:" }
    print hdr " | target (" VS[nv] " / ref) | " VS[nv] " |"
    print sep "|---|---|"
    if (med("ref", "rtti") != "NA") {
        line("ping RTT ms (interleaved batches, median)", "rtti", "%.3f", 1.2, "lower")
        line("ping RTT ms (one series per row)", "rtt", "%.3f", "", "lower")
    } else line("ping RTT median ms", "rtt", "%.3f", 1.2, "lower")
    line("TCP client->server Mbit/s", "tcp_up", "%.0f", 1.3, "higher")
    line("TCP server->client Mbit/s (-R)", "tcp_dn", "%.0f", 1.3, "higher")
    line("UDP rx Mbit/s (client->server, unlimited)", "udp_rx", "%.0f", 1.0, "higher")
    line("tunnel CPU s/GB, TCP up (both ends)", "cpugb_up", "%.2f", 1.0, "lower")
    line("tunnel CPU s/GB, TCP down (both ends)", "cpugb_dn", "%.2f", 1.0, "lower")
    line("server CPU s/GB, TCP up", "srvgb_up", "%.2f", "", "lower")
    line("server CPU s/GB, TCP down", "srvgb_dn", "%.2f", "", "lower")
    line("busiest tunnel thread %, TCP up", "top_up", "%.0f", "", "lower")
    line("busiest tunnel thread %, TCP down", "top_dn", "%.0f", "", "lower")
    line("UDP loss %", "udp_loss", "%.1f", "", "lower")
    print ""
    print "Ratios are medians of the per-round ratios (variant / ref of the same round)."
    print ""
    vl = VS[1]; for (i = 2; i <= nv; i++) vl = vl "/" VS[i]
    print "Per-round ratios (" vl "):"
    print ""
    print "| round | RTT (interleaved batch) | RTT (row) | TCP up | TCP down | UDP rx | CPU/GB up | CPU/GB down |"
    print "|---:|---|---|---|---|---|---|---|"
    split("rtti rtt tcp_up tcp_dn udp_rx cpugb_up cpugb_dn", MK, " ")
    for (r = 1; r <= maxr; r++) {
        if (val("ref", r, "rtti") == "NA" && val("ref", r, "tcp_up") == "NA") continue
        out = "| " r
        for (m = 1; m <= 7; m++) { cell = ""; for (i = 1; i <= nv; i++) cell = cell (i > 1 ? " / " : "") f(rratio(VS[i], MK[m], r), "%.2f"); out = out " | " cell }
        print out " |"
    }
    if (med("ref-kd", "tcp_up") != "NA") {
        printf "\nContext, refserver as shipped (kernel default buffers): TCP up %s, down %s Mbit/s, UDP rx %s, RTT %s ms.\n",
            f(med("ref-kd", "tcp_up"), "%.0f"), f(med("ref-kd", "tcp_dn"), "%.0f"), f(med("ref-kd", "udp_rx"), "%.0f"), f(med("ref-kd", "rtt"), "%.3f")
    }
    if (med("simple-multi", "tcp_up") != "NA" || med("fast-multi", "tcp_up") != "NA") {
        print "\n### Several clients at once (refclients in their own namespaces; medians)\n"
        print "| variant | TCP up aggregate | 1 client | TCP down aggregate | 1 client | server CPU % of 1 core (up / down) | busiest thread % (up / down) |"
        print "|---|---:|---:|---:|---:|---|---|"
        for (i = 1; i <= nv; i++) {
            v = VS[i]
            if (med(v "-multi", "tcp_up") == "NA" && med(v "-multi", "tcp_dn") == "NA") continue
            printf "| %s | %s | %s | %s | %s | %s / %s | %s / %s |\n", v, f(med(v "-multi", "tcp_up"), "%.0f"), f(med(v, "tcp_up"), "%.0f"),
                f(med(v "-multi", "tcp_dn"), "%.0f"), f(med(v, "tcp_dn"), "%.0f"), f(med(v "-multi", "srvpct_up"), "%.0f"),
                f(med(v "-multi", "srvpct_dn"), "%.0f"), f(med(v "-multi", "top_up"), "%.0f"), f(med(v "-multi", "top_dn"), "%.0f")
        }
    }
    hs = 0; for (i = 1; i <= n; i++) if (K[i] ~ /-hs$/) hs = 1
    if (hs) {
        print "\n### Handshakes from distinct sources (hsflood; target >= 20000/s with the default limits)\n"
        print "| row | offered /s | answered | answered /s | server CPU us per handshake |"
        print "|---|---:|---:|---:|---:|"
        for (i = 1; i <= n; i++) if (K[i] ~ /-hs$/) printf "| %s | %s | %s/%s | %s | %s |\n", L[i], V[i, "hs_offered"], V[i, "hs_answered"], V[i, "hs_sent"], V[i, "hs_rate"], V[i, "hs_cpu_us"]
    }
    idle = 0; for (i = 1; i <= n; i++) if (K[i] ~ /-idle$/) idle = 1
    if (idle) {
        print "\n### Idle sessions (target: CPU <= 1 %, RSS <= 150 MB)\n"
        print "| row | sessions | server CPU % | RSS MB | threads |"
        print "|---|---:|---:|---:|---:|"
        for (i = 1; i <= n; i++) if (K[i] ~ /-idle$/) printf "| %s | %s | %s | %s | %s |\n", L[i], V[i, "idle_sessions"], V[i, "idle_cpu"], V[i, "idle_rss"], V[i, "threads"]
    }
    print "\n### All single-client rows\n"
    print "| row | RTT ms | TCP up | retr | CPU/GB | TCP down | retr | CPU/GB | UDP rx (loss) | background before/after |"
    print "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"
    for (i = 1; i <= n; i++) {
        if (K[i] ~ /-(multi|hs|idle)$/ || (ok(i) && V[i, "tcp_up"] == "")) continue
        if (!ok(i)) { printf "| %s | FAILED |||||||||\n", L[i]; continue }
        printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s (%s%%) | %s |\n", L[i], V[i, "rtt"], f(V[i, "tcp_up"], "%.0f"), V[i, "retr_up"], V[i, "cpugb_up"],
            f(V[i, "tcp_dn"], "%.0f"), V[i, "retr_dn"], V[i, "cpugb_dn"], f(V[i, "udp_rx"], "%.0f"), f(V[i, "udp_loss"], "%.1f"), V[i, "bg"]
    }
    print "\n### Where the CPU goes (busiest threads of both tunnel processes, % of one CPU)\n"
    print "| row | TCP up | TCP down |"
    print "|---|---|---|"
    for (i = 1; i <= n; i++) if (ok(i) && V[i, "thr_up"] != "") printf "| %s | %s | %s |\n", L[i], V[i, "thr_up"], V[i, "thr_dn"]
}
