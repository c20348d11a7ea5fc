package report

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// sampleReport has several channels and locales, with replies and
// opt-outs, so every series of both charts has bars.
func sampleReport() *Report {
	return &Report{
		Campaign:  "spring-sale",
		StateDirs: []string{"s0", "s1"},
		Totals:    Counts{Sent: 60, Failed: 3, Skipped: 2, InDoubt: 1, Replied: 18, OptedOut: 6},
		ByChannel: map[string]*Counts{
			"email":    {Sent: 30, Failed: 1, Replied: 6, OptedOut: 2},
			"sms":      {Sent: 20, Failed: 2, InDoubt: 1, Replied: 8, OptedOut: 3},
			"whatsapp": {Sent: 10, Replied: 4, OptedOut: 1},
			None:       {Skipped: 2},
		},
		ByLocale: map[string]*Counts{
			"en":    {Sent: 25, Replied: 7, OptedOut: 2},
			"id":    {Sent: 20, Failed: 3, Replied: 6, OptedOut: 3},
			"pt-BR": {Sent: 15, InDoubt: 1, Skipped: 2, Replied: 5, OptedOut: 1},
		},
		HasMedian:        true,
		MedianFirstReply: 42 * time.Minute,
	}
}

// The page stands alone and escapes what the journal says: a channel
// name is written by whoever can write the state, and must not become
// markup in a page people open in a browser.
func TestHTMLIsSelfContainedAndEscaped(t *testing.T) {
	rep := sampleReport()
	rep.ByChannel[`<script>alert(1)</script>`] = &Counts{Sent: 1}
	var out bytes.Buffer
	if err := rep.WriteHTML(&out); err != nil {
		t.Fatal(err)
	}
	page := out.String()
	if strings.Contains(page, "<script") {
		t.Error("a channel name became a <script> element")
	}
	for _, bad := range []string{"<link", "src=", "@import", "url("} {
		if strings.Contains(page, bad) {
			t.Errorf("page loads something from elsewhere (%s)", bad)
		}
	}
	if n := strings.Count(page, "<svg"); n != 2 {
		t.Errorf("%d charts, want 2 (by channel, by locale)", n)
	}
	if !strings.Contains(page, "42m0s") || !strings.Contains(page, "30.0%") {
		t.Error("the page lacks the median or the reply rate")
	}
}

func TestHTMLChartWithNothingSent(t *testing.T) {
	got := string(barChart("by channel", map[string]*Counts{}))
	if !strings.Contains(got, "nothing sent yet") {
		t.Errorf("an empty chart should say so: %s", got)
	}
}

func TestNiceScale(t *testing.T) {
	for _, c := range []struct{ max, top, step int }{{1, 1, 1}, {3, 3, 1}, {7, 8, 2}, {28, 30, 10}, {60, 60, 20}, {1234, 1500, 500}} {
		if top, step := niceScale(c.max); top != c.top || step != c.step {
			t.Errorf("niceScale(%d) = %d, %d; want %d, %d", c.max, top, step, c.top, c.step)
		}
	}
}

// TestHTMLRendersInChromium opens the page in a real browser and looks at
// the screenshot: the bars of both charts must be on screen, in their
// colours. A page that parses but draws nothing (a broken viewBox, CSS
// that hides the SVG) passes every string check and fails here.
func TestHTMLRendersInChromium(t *testing.T) {
	t.Parallel() // a browser start is slow; the rest need not wait for it
	browser := findChromium()
	if browser == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("chromium is not on PATH; CI must install it (Debian package chromium)")
		}
		t.Skip("chromium is not on PATH (install Debian's chromium package to run this)")
	}
	dir := t.TempDir()
	page := filepath.Join(dir, "report.html")
	shot := filepath.Join(dir, "out.png")
	var out bytes.Buffer
	if err := sampleReport().WriteHTML(&out); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(page, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	profile := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
		"--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--hide-scrollbars", "--user-data-dir="+profile, "--screenshot="+shot, "--window-size=1200,900",
		"file://"+page)
	cmd.Dir = dir
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", browser, err, msg)
	}
	f, err := os.Open(shot)
	if err != nil {
		t.Fatalf("chromium wrote no screenshot: %v", err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	b := img.Bounds()
	left := image.Rect(b.Min.X, b.Min.Y, b.Min.X+b.Dx()/2, b.Max.Y)
	right := image.Rect(b.Min.X+b.Dx()/2, b.Min.Y, b.Max.X, b.Max.Y)
	for _, c := range []struct {
		what  string
		area  image.Rectangle
		color string
		min   int
	}{
		{"sent bars by channel", left, ColorSent, 3000},
		{"sent bars by locale", right, ColorSent, 3000},
		{"reply bars by channel", left, ColorReplied, 800},
		{"reply bars by locale", right, ColorReplied, 800},
		{"opt-out bars by channel", left, ColorOptedOut, 200},
		{"opt-out bars by locale", right, ColorOptedOut, 200},
	} {
		if n := countColor(img, c.area, c.color); n < c.min {
			t.Errorf("%s: %d pixels of %s on screen, want at least %d (screenshot kept at %s)", c.what, n, c.color, c.min, keep(t, shot))
		}
	}
}

func findChromium() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// countColor counts pixels within a small distance of a #rrggbb colour:
// the browser may blend a bar's edges, never its inside.
func countColor(img image.Image, area image.Rectangle, hex string) int {
	want := [3]int{}
	for i := range want {
		v, _ := strconv.ParseUint(hex[1+2*i:3+2*i], 16, 8)
		want[i] = int(v)
	}
	n := 0
	for y := area.Min.Y; y < area.Max.Y; y++ {
		for x := area.Min.X; x < area.Max.X; x++ {
			r, g, b, _ := img.At(x, y).RGBA()
			got := [3]int{int(r >> 8), int(g >> 8), int(b >> 8)}
			if abs(got[0]-want[0]) <= 8 && abs(got[1]-want[1]) <= 8 && abs(got[2]-want[2]) <= 8 {
				n++
			}
		}
	}
	return n
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// keep copies a failing screenshot out of the test's temporary directory,
// so whoever sees the failure can look at it.
func keep(t *testing.T, path string) string {
	dst := filepath.Join(os.TempDir(), fmt.Sprintf("herald-report-%d.png", time.Now().UnixNano()))
	if b, err := os.ReadFile(path); err == nil && os.WriteFile(dst, b, 0o644) == nil {
		return dst
	}
	return path
}
