package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// report collects every phase's results for printing.
type report struct {
	cfg       config
	started   time.Time
	fileLimit uint64

	idle      idleResult
	calls     callResult
	heldAtEnd int
	dropped   map[string]int // why the server closed idle connections
	capped    bool

	before, afterOpen, endOfHold, afterClose serverSample
}

// serverSample is the server process as /proc shows it.
type serverSample struct {
	ok      bool
	rssKiB  int64
	fds     int
	threads int
}

// sampleServer reads VmRSS and Threads from /proc/<pid>/status and counts
// the open file descriptors. It returns a zero sample without -pid.
func sampleServer(pid int) serverSample {
	if pid <= 0 {
		return serverSample{}
	}
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return serverSample{}
	}
	defer f.Close()

	s := serverSample{ok: true}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, value, _ := strings.Cut(sc.Text(), ":")
		fields := strings.Fields(value)
		if len(fields) == 0 {
			continue
		}
		switch name {
		case "VmRSS":
			s.rssKiB, _ = strconv.ParseInt(fields[0], 10, 64)
		case "Threads":
			s.threads, _ = strconv.Atoi(fields[0])
		}
	}
	if entries, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid)); err == nil {
		s.fds = len(entries)
	}
	return s
}

// raiseFileLimit lifts this process's open-file limit to its hard limit,
// and past it to want when the process may (root or CAP_SYS_RESOURCE). It
// returns the limit in force.
func raiseFileLimit(want uint64) uint64 {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0
	}
	if lim.Max < want {
		raised := syscall.Rlimit{Cur: want, Max: want}
		if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &raised) == nil {
			return want
		}
	}
	if lim.Cur < lim.Max {
		lim.Cur = lim.Max
		if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim) != nil {
			syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim)
		}
	}
	return lim.Cur
}

// checkServerFileLimit warns when the server cannot hold the connections.
func checkServerFileLimit(cfg config, w io.Writer) {
	if cfg.pid <= 0 {
		return
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/limits", cfg.pid))
	if err != nil {
		fmt.Fprintf(w, "warning: cannot read the server's limits: %v\n", err)
		return
	}
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(line, "Max open files") {
			continue
		}
		fields := strings.Fields(strings.TrimPrefix(line, "Max open files"))
		n, err := strconv.Atoi(fields[0])
		if err == nil && n < cfg.visitors+256 {
			fmt.Fprintf(w, "warning: the server may open only %d files; run `ulimit -n 65536` "+
				"in its shell before starting it\n", n)
		}
	}
}

func (r *report) print(w io.Writer) {
	cfg := r.cfg
	fmt.Fprintf(w, "greeter-load %s → %s, site %s, agents %d, open-file limit %d\n",
		r.started.UTC().Format(time.RFC3339), cfg.url, cfg.siteKey, len(cfg.agents), r.fileLimit)
	if r.fileLimit < uint64(cfg.visitors)+256 {
		fmt.Fprintf(w, "WARNING: the open-file limit is below -visitors; run `ulimit -n 65536` "+
			"(as root) before this command and before the server\n")
	}
	if r.capped {
		fmt.Fprintf(w, "STOPPED BY -duration %s: the numbers below are partial\n", cfg.duration)
	}
	r.printIdle(w)
	r.printMemory(w)
	r.printCalls(w)
}

func (r *report) printIdle(w io.Writer) {
	idle := r.idle
	joined := len(idle.routings)
	fmt.Fprintf(w, "\nidle visitors: %d asked, %d joined in %s (concurrency %d), %d failed\n",
		r.cfg.visitors, joined, idle.took.Round(time.Millisecond), r.cfg.concurrency,
		r.cfg.visitors-joined)
	for _, k := range sortedKeys(idle.failures) {
		fmt.Fprintf(w, "  failed: %d × %s\n", idle.failures[k], k)
	}
	fmt.Fprintf(w, "  handshake                 %s\n", summary(idle.handshakes))
	fmt.Fprintf(w, "  join → routing answer     %s\n", summary(idle.routings))
	fmt.Fprintf(w, "  answers: %d agent:assigned, %d agent:unavailable; %d frames received\n",
		idle.assigned, idle.waiting, idle.frames.Load())
	fmt.Fprintf(w, "  held to the end of the hold (%s): %d of %d\n",
		r.cfg.hold, r.heldAtEnd, len(idle.clients))
	for _, k := range sortedKeys(r.dropped) {
		fmt.Fprintf(w, "  dropped: %d × %s\n", r.dropped[k], k)
	}
}

func (r *report) printMemory(w io.Writer) {
	if !r.before.ok {
		fmt.Fprintln(w, "\nserver memory: not measured (give -pid)")
		return
	}
	fmt.Fprintf(w, "\nserver (pid %d)            RSS        fds  threads\n", r.cfg.pid)
	for _, row := range []struct {
		name string
		s    serverSample
	}{
		{"before", r.before}, {"after open (+2 s)", r.afterOpen},
		{"end of hold", r.endOfHold}, {"after close (+3 s)", r.afterClose},
	} {
		fmt.Fprintf(w, "  %-22s %9s %7d %8d\n", row.name, mib(row.s.rssKiB), row.s.fds,
			row.s.threads)
	}
	held := len(r.idle.routings)
	if held == 0 {
		return
	}
	for _, row := range []struct {
		name string
		s    serverSample
	}{{"after open", r.afterOpen}, {"end of hold", r.endOfHold}} {
		delta := row.s.rssKiB - r.before.rssKiB
		fmt.Fprintf(w, "  RSS delta %-12s %s = %.1f KiB per joined connection\n",
			row.name, mib(delta), float64(delta)/float64(held))
	}
}

func (r *report) printCalls(w io.Writer) {
	c := r.calls
	if r.cfg.calls == 0 {
		return
	}
	fmt.Fprintf(w, "\ncalls: %d asked, %d completed in %s\n", r.cfg.calls, len(c.rings),
		c.took.Round(time.Millisecond))
	if c.aborted != "" {
		fmt.Fprintf(w, "  stopped early: %s\n", c.aborted)
	}
	for _, k := range sortedKeys(c.failures) {
		fmt.Fprintf(w, "  failed: %d × %s\n", c.failures[k], k)
	}
	fmt.Fprintf(w, "  request → call:incoming   %s\n", summary(c.rings))
	fmt.Fprintf(w, "  request → call:accepted   %s\n", summary(c.accepts))
}

// summary formats p50, p99 and max of ds.
func summary(ds []time.Duration) string {
	if len(ds) == 0 {
		return "no samples"
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return fmt.Sprintf("p50 %8s  p99 %8s  max %8s  (n=%d)",
		short(percentile(s, 50)), short(percentile(s, 99)), short(s[len(s)-1]), len(s))
}

// percentile is the nearest-rank percentile of sorted s.
func percentile(s []time.Duration, p int) time.Duration {
	i := (p*len(s)+99)/100 - 1
	return s[max(0, min(i, len(s)-1))]
}

func short(d time.Duration) string {
	switch {
	case d >= time.Second:
		return d.Round(time.Millisecond).String()
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond).String()
	default:
		return d.Round(time.Microsecond).String()
	}
}

func mib(kib int64) string {
	return fmt.Sprintf("%.1f MiB", float64(kib)/1024)
}
