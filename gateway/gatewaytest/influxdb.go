package gatewaytest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// InfluxDB is an influxd 1.8 process serving the v1 API and, on the same
// port, the v2 write and Flux query API.
type InfluxDB struct {
	URL    string // http://127.0.0.1:<Port>, for influxdb-client-go with an empty token
	Port   int
	DB     string // "carebed"
	Bucket string // "carebed/autogen": the v2 bucket naming DB and retention policy
	Dir    string // data, config and log

	t    testing.TB
	proc *process
	http *http.Client
}

const influxInstall = "go install github.com/influxdata/influxdb/cmd/influxd@v1.8.10"

// StartInfluxDB starts influxd on free loopback ports with its data in a
// temporary directory, waits until /ping answers 204 and creates the database
// carebed. The server is stopped when the test ends. With Flux enabled,
// influxd takes a few seconds to start (it compiles the Flux standard
// library), so tests share one server where they can.
func StartInfluxDB(t testing.TB) *InfluxDB {
	t.Helper()
	bin := findBinary(t, "influxd", influxInstall, "/usr/local/bin", goBin())
	dir := t.TempDir()
	port, rpc := FreePort(t), FreePort(t)
	for rpc == port {
		rpc = FreePort(t)
	}
	conf := fmt.Sprintf(`reporting-disabled = true
bind-address = "127.0.0.1:%d"

[meta]
  dir = %q

[data]
  dir = %q
  wal-dir = %q
  query-log-enabled = false

[monitor]
  store-enabled = false

[subscriber]
  enabled = false

[continuous_queries]
  enabled = false

[http]
  bind-address = "127.0.0.1:%d"
  flux-enabled = true
  log-enabled = false
`, rpc, filepath.Join(dir, "meta"), filepath.Join(dir, "data"), filepath.Join(dir, "wal"), port)
	confPath := filepath.Join(dir, "influxdb.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatalf("gatewaytest: write influxdb config: %v", err)
	}
	i := &InfluxDB{
		URL:    fmt.Sprintf("http://127.0.0.1:%d", port),
		Port:   port,
		DB:     "carebed",
		Bucket: "carebed/autogen",
		Dir:    dir,
		t:      t,
		proc: &process{
			name:    "influxd",
			path:    bin,
			args:    []string{"run", "-config", confPath},
			logPath: filepath.Join(dir, "influxd.log"),
		},
		http: &http.Client{Timeout: 30 * time.Second},
	}
	t.Cleanup(i.Stop)
	i.Start()
	if _, err := i.post("/query", url.Values{"q": {"CREATE DATABASE " + i.DB}}); err != nil {
		t.Fatalf("gatewaytest: create database %s: %v", i.DB, err)
	}
	return i
}

// Start starts the server again on the same port and data directory and
// waits until it is ready. It does nothing when the server is running.
func (i *InfluxDB) Start() {
	i.t.Helper()
	if i.proc.cmd != nil {
		return
	}
	if err := i.proc.start(); err != nil {
		i.t.Fatalf("gatewaytest: %v", err)
	}
	err := i.proc.waitReady(120*time.Second, func() bool {
		resp, err := i.http.Get(i.URL + "/ping")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusNoContent
	})
	if err != nil {
		i.t.Fatalf("gatewaytest: %v", err)
	}
}

// Stop stops the server gracefully (SIGTERM, then SIGKILL after 30s) and
// waits for it to exit. It does nothing when the server is not running.
func (i *InfluxDB) Stop() {
	i.proc.stop(30 * time.Second)
	i.http.CloseIdleConnections()
}

// Log returns the tail of the server's log, for failure messages.
func (i *InfluxDB) Log() string { return i.proc.tail(8192) }

// Row is one row of an InfluxQL result: column name to value, plus the
// series' tags when the query groups by them, and "_measurement". Numbers are
// float64; time is an RFC 3339 string with nanoseconds.
type Row map[string]any

// Query runs an InfluxQL statement against the database and returns every
// row of every series. It fails the test on any error the server reports.
func (i *InfluxDB) Query(t testing.TB, influxql string) []Row {
	t.Helper()
	body, err := i.get("/query", url.Values{"db": {i.DB}, "q": {influxql}})
	if err != nil {
		t.Fatalf("gatewaytest: query %q: %v", influxql, err)
	}
	var res struct {
		Results []struct {
			Error  string `json:"error"`
			Series []struct {
				Name    string            `json:"name"`
				Tags    map[string]string `json:"tags"`
				Columns []string          `json:"columns"`
				Values  [][]any           `json:"values"`
			} `json:"series"`
		} `json:"results"`
		Error string `json:"error"`
	}
	if err := json.Unmarshal(body, &res); err != nil {
		t.Fatalf("gatewaytest: query %q: decode %q: %v", influxql, body, err)
	}
	if res.Error != "" {
		t.Fatalf("gatewaytest: query %q: %s", influxql, res.Error)
	}
	var rows []Row
	for _, r := range res.Results {
		if r.Error != "" {
			t.Fatalf("gatewaytest: query %q: %s", influxql, r.Error)
		}
		for _, s := range r.Series {
			for _, v := range s.Values {
				row := Row{"_measurement": s.Name}
				for k, tv := range s.Tags {
					row[k] = tv
				}
				for c, name := range s.Columns {
					if c < len(v) {
						row[name] = v[c]
					}
				}
				rows = append(rows, row)
			}
		}
	}
	return rows
}

// Count returns SELECT count(field) FROM measurement: how many points carry
// the field, 0 when there is no such series.
func (i *InfluxDB) Count(t testing.TB, measurement, field string) int {
	t.Helper()
	q := fmt.Sprintf("SELECT count(%s) FROM %s", quoteIdent(field), quoteIdent(measurement))
	n := 0
	for _, r := range i.Query(t, q) {
		if c, ok := r["count"].(float64); ok {
			n += int(c)
		}
	}
	return n
}

// WriteLines writes line protocol with nanosecond precision through the v1
// /write endpoint, for seeding a test. It fails the test unless the server
// answers 204.
func (i *InfluxDB) WriteLines(t testing.TB, lines string) {
	t.Helper()
	u := i.URL + "/write?" + url.Values{"db": {i.DB}, "precision": {"ns"}}.Encode()
	resp, err := i.http.Post(u, "text/plain; charset=utf-8", strings.NewReader(lines))
	if err != nil {
		t.Fatalf("gatewaytest: write: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("gatewaytest: write: %s: %s", resp.Status, b)
	}
}

func (i *InfluxDB) get(path string, v url.Values) ([]byte, error) {
	resp, err := i.http.Get(i.URL + path + "?" + v.Encode())
	return readOK(resp, err)
}

func (i *InfluxDB) post(path string, v url.Values) ([]byte, error) {
	resp, err := i.http.PostForm(i.URL+path, v)
	return readOK(resp, err)
}

func readOK(resp *http.Response, err error) ([]byte, error) {
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		return nil, fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(b)))
	}
	return b, nil
}

// quoteIdent quotes an InfluxQL identifier.
func quoteIdent(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}
