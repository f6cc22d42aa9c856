package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"greeter/internal/demo"
	"greeter/internal/ids"
	"greeter/internal/store"
)

// The tests in this file and in crash_test.go run Greeter as its own
// process, the greeter binary built from this tree, so that it can be killed
// with SIGKILL and started again on the same files and ports.

var (
	buildOnce sync.Once
	binary    string
	buildErr  error
)

// greeterBinary builds cmd/greeter once per test run.
func greeterBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "greeter-bin-*")
		if err != nil {
			buildErr = err
			return
		}
		binary = filepath.Join(dir, "greeter")
		cmd := exec.Command("go", "build", "-o", binary, "greeter/cmd/greeter")
		cmd.Dir = ".."
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binary
}

// process is one run of the greeter binary in demo mode over a data folder
// that outlives it.
type process struct {
	t       *testing.T
	dir     string // database, data folder and log
	dash    string // http://127.0.0.1:port
	demo    string
	cmd     *exec.Cmd
	logFile *os.File
}

// newProcess picks the folder and ports that every start of the test's
// server uses.
func newProcess(t *testing.T) *process {
	t.Helper()
	return &process{t: t, dir: t.TempDir(),
		dash: "http://" + freeAddr(t), demo: "http://" + freeAddr(t)}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// start runs the server and waits until it is ready.
func (p *process) start() {
	p.t.Helper()
	log, err := os.OpenFile(filepath.Join(p.dir, "greeter.log"),
		os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		p.t.Fatal(err)
	}
	p.logFile = log
	p.cmd = exec.Command(greeterBinary(p.t), "serve", "--demo",
		"--addr", strings.TrimPrefix(p.dash, "http://"),
		"--demo-addr", strings.TrimPrefix(p.demo, "http://"),
		"--db", filepath.Join(p.dir, "greeter.db"),
		"--data-dir", filepath.Join(p.dir, "data"))
	// Many agents sign in from one loopback address within seconds.
	p.cmd.Env = append(os.Environ(), "GREETER_RATE_LIMIT_SCALE=100", "GREETER_LOG_LEVEL=debug")
	p.cmd.Stdout, p.cmd.Stderr = log, log
	if err := p.cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	p.t.Cleanup(p.kill)

	ok := poll(30*time.Second, func() bool {
		resp, err := http.Get(p.dash + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	if !ok {
		p.t.Fatalf("the server did not get ready; log:\n%s", p.logTail())
	}
}

// kill ends the process with SIGKILL, as a crash would, and waits for it.
func (p *process) kill() {
	if p.cmd == nil || p.cmd.Process == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	_ = p.cmd.Wait()
	p.cmd = nil
	p.logFile.Close()
}

// stop ends the process with SIGTERM, as an operator would, and waits.
func (p *process) stop() {
	p.t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		p.t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		p.t.Fatalf("the server did not stop within 20 s; log:\n%s", p.logTail())
	}
	p.cmd = nil
	p.logFile.Close()
}

func (p *process) logTail() string {
	b, _ := os.ReadFile(filepath.Join(p.dir, "greeter.log"))
	if len(b) > 20000 {
		b = b[len(b)-20000:]
	}
	return string(b)
}

// signInCookie signs a user in over HTTP and returns the session cookie.
func (p *process) signInCookie(email string) *http.Cookie {
	p.t.Helper()
	body := fmt.Sprintf(`{"email":%q,"password":%q}`, email, demo.Password)
	resp, err := http.Post(p.dash+"/api/auth/login", "application/json", strings.NewReader(body))
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	for _, c := range resp.Cookies() {
		if c.Name == "greeter_session" {
			return c
		}
	}
	p.t.Fatalf("signing in %s answered %d without a session", email, resp.StatusCode)
	return nil
}

// wsFrame is a server frame as these tests read it.
type wsFrame struct {
	Event string          `json:"event"`
	Ack   int             `json:"ack"`
	Data  json.RawMessage `json:"data"`
}

// wsPeer is a plain WebSocket client of /ws/visitor or /ws/agent. Its
// frames arrive on a channel until the connection closes.
type wsPeer struct {
	ws     *websocket.Conn
	frames chan wsFrame
	mu     sync.Mutex
	ack    int
}

func dialPeer(ctx context.Context, url, origin string, cookie *http.Cookie) (*wsPeer, error) {
	h := http.Header{"Origin": {origin}}
	if cookie != nil {
		h.Set("Cookie", cookie.String())
	}
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(url, "http"),
		&websocket.DialOptions{HTTPHeader: h})
	if err != nil {
		return nil, err
	}
	ws.SetReadLimit(1 << 20)
	p := &wsPeer{ws: ws, frames: make(chan wsFrame, 256)}
	go p.read()
	return p, nil
}

func (p *wsPeer) read() {
	defer close(p.frames)
	for {
		_, b, err := p.ws.Read(context.Background())
		if err != nil {
			return
		}
		var f wsFrame
		if json.Unmarshal(b, &f) == nil {
			p.frames <- f
		}
	}
}

// send writes an event with the next ack number and returns that number.
func (p *wsPeer) send(event string, data any) int {
	p.mu.Lock()
	p.ack++
	n := p.ack
	p.mu.Unlock()
	b, _ := json.Marshal(map[string]any{"event": event, "data": data, "ack": n})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = p.ws.Write(ctx, websocket.MessageText, b) // a dead server is what some tests want
	return n
}

func (p *wsPeer) close() { _ = p.ws.CloseNow() }

// field returns a string field of a frame's data.
func (f wsFrame) field(name string) string {
	var m map[string]any
	_ = json.Unmarshal(f.Data, &m)
	s, _ := m[name].(string)
	return s
}

// demoStore opens the process's database (beside the running server, as an
// operator would) and returns it with the demo organization's id.
func (p *process) demoStore(t *testing.T) (*store.Store, ids.OrgID) {
	t.Helper()
	st, err := store.Open(context.Background(), filepath.Join(p.dir, "greeter.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	org, err := st.OrgByName(context.Background(), demo.OrgName)
	if err != nil {
		t.Fatal(err)
	}
	return st, org.ID
}
