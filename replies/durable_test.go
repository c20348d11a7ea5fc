package replies

import (
	"bufio"
	"fmt"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"herald/state"
)

// A webhook is answered only once its row is in replies.csv: while another
// process holds the reply log's lock (as a `replies fetch` appending would),
// the batch holding the reply cannot be written, and the provider gets no
// 200; once the lock is released, the row is written and synced under it,
// and only then does the answer come.
func TestServeAnswersOnlyOnceTheRowIsWritten(t *testing.T) {
	h := newHarness(t, fullConfig)
	lockPath := state.OpenFiles(h.state).RepliesPath() + ".lock"
	lock, err := os.OpenFile(lockPath, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	st, err := lock.Stat()
	if err != nil {
		t.Fatal(err)
	}
	ino := st.Sys().(*syscall.Stat_t).Ino

	answered := make(chan int, 1)
	go func() {
		code, _ := h.send(twilioReq(twilioToken, "/webhooks/sms", twilioSMS("SMdurable", "+6281234567890", "Bisa diantar besok sore?")))
		answered <- code
	}()
	// Wait, without a clock, until the server waits for the lock.
	for !flockWaiter(t, ino) {
		select {
		case code := <-answered:
			t.Fatalf("answered %d while the reply log was locked by another process", code)
		default:
			time.Sleep(time.Millisecond)
		}
	}
	select {
	case code := <-answered:
		t.Fatalf("answered %d before its row could be written", code)
	default:
	}
	if rows := h.replies(); len(rows) != 0 {
		t.Fatalf("rows written while the log was locked: %+v", rows)
	}

	if err := unix.Flock(int(lock.Fd()), unix.LOCK_UN); err != nil {
		t.Fatal(err)
	}
	if code := <-answered; code != http.StatusOK {
		t.Fatalf("status %d, want 200", code)
	}
	if rows := h.replies(); len(rows) != 1 || rows[0].MessageID != "SMdurable" {
		t.Fatalf("replies.csv after the 200: %+v", rows)
	}
}

// flockWaiter reports whether a process waits for a flock on the file with
// inode ino, as /proc/locks shows.
func flockWaiter(t *testing.T, ino uint64) bool {
	t.Helper()
	f, err := os.Open("/proc/locks")
	if err != nil {
		t.Skipf("cannot see waiting locks: %v", err)
	}
	defer f.Close()
	suffix := fmt.Sprintf(":%d", ino)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// "2: -> FLOCK  ADVISORY  WRITE 4242 fd:01:1234567 0 EOF"
		fields := strings.Fields(sc.Text())
		if len(fields) >= 7 && fields[1] == "->" && fields[2] == "FLOCK" && strings.HasSuffix(fields[6], suffix) {
			return true
		}
	}
	return false
}

// A reply whose journal cannot be read is refused with 500 and logs
// nothing, so Twilio delivers it again; the redelivery, once the journal
// reads, is logged (the first attempt did not count it as seen).
func TestServeRefusesRepliesWhileTheJournalCannotBeRead(t *testing.T) {
	h := newHarness(t, fullConfig)
	journal := state.OpenFiles(h.state).JournalPath()
	if err := os.Mkdir(journal, 0o700); err != nil {
		t.Fatal(err)
	}
	req := twilioReq(twilioToken, "/webhooks/sms", twilioSMS("SMjournal", "+6281234567890", "Bisa diantar besok sore?"))
	code, body := h.send(req)
	if code != http.StatusInternalServerError || !strings.Contains(body, "journal cannot be read") {
		t.Fatalf("with an unreadable journal: %d %q, want 500 naming the journal", code, body)
	}
	if rows := h.replies(); len(rows) != 0 {
		t.Fatalf("rows logged without the journal: %+v", rows)
	}
	if err := os.Remove(journal); err != nil {
		t.Fatal(err)
	}
	h.mustSend(req)
	if rows := h.replies(); len(rows) != 1 || rows[0].MessageID != "SMjournal" {
		t.Fatalf("after the redelivery: %+v", rows)
	}
}
