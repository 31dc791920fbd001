package journal

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
)

// cursor is one consumer's position in the log.
type cursor struct {
	name   string
	path   string
	pos    atomic.Uint64 // last index the consumer finished, in memory
	saved  atomic.Uint64 // last index durably stored; truncation goes by this
	active atomic.Bool   // a Consume call owns the cursor

	mu sync.Mutex // serialises writes of the file
	// beforeSave, when set, runs before the file is written (guarded by mu).
	beforeSave func(ctx context.Context) error
}

func (c *cursor) setBeforeSave(fn func(ctx context.Context) error) {
	c.mu.Lock()
	c.beforeSave = fn
	c.mu.Unlock()
}

const cursorFileLen = 8 + crcLen

// validName reports whether a consumer name is safe as a file name.
func validName(name string) bool {
	if name == "" || len(name) > 64 || name[0] == '.' {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// loadCursors reads every cursor file. A cursor behind the first entry or one
// whose file is damaged starts at the first entry; one beyond the last entry
// (only possible with NoSync) is pulled back to it.
func (j *Journal) loadCursors() error {
	des, err := os.ReadDir(j.curDir)
	if err != nil {
		return fmt.Errorf("list cursors: %w", err)
	}
	first := j.log.first()
	for _, de := range des {
		fname := de.Name()
		if strings.HasSuffix(fname, tmpExt) {
			if err := os.Remove(filepath.Join(j.curDir, fname)); err != nil {
				return fmt.Errorf("remove stray cursor file: %w", err)
			}
			continue
		}
		name, ok := strings.CutSuffix(fname, cursorExt)
		if !ok || !validName(name) || de.IsDir() {
			continue
		}
		c := &cursor{name: name, path: filepath.Join(j.curDir, fname)}
		pos, ok := readCursorFile(c.path)
		fix := !ok
		if pos+1 < first {
			pos, fix = first-1, true
		}
		if pos > j.written {
			pos, fix = j.written, true
		}
		c.pos.Store(pos)
		c.saved.Store(pos)
		if fix {
			if err := j.saveCursor(c, true); err != nil {
				return err
			}
		}
		j.cursors[name] = c
	}
	return nil
}

// readCursorFile returns the stored index and whether the file was sound.
func readCursorFile(path string) (uint64, bool) {
	b, err := os.ReadFile(path)
	if err != nil || len(b) != cursorFileLen {
		return 0, false
	}
	if crc32.Checksum(b[:8], castagnoli) != binary.LittleEndian.Uint32(b[8:]) {
		return 0, false
	}
	return binary.LittleEndian.Uint64(b[:8]), true
}

// acquire registers the consumer on first use (starting at the first entry
// still in the log, stored at once so truncation respects it) and claims it.
func (j *Journal) acquire(name string) (*cursor, error) {
	if !validName(name) {
		return nil, fmt.Errorf("consume: consumer name %q: use 1-64 letters, digits, '-', '_' or '.', not starting with '.'", name)
	}
	j.cursorMu.Lock()
	defer j.cursorMu.Unlock()
	if j.isClosed() {
		return nil, fmt.Errorf("consume %q: %w", name, ErrClosed)
	}
	c := j.cursors[name]
	if c == nil {
		first := j.log.first()
		c = &cursor{name: name, path: filepath.Join(j.curDir, name+cursorExt)}
		c.pos.Store(first - 1)
		if err := j.saveCursor(c, true); err != nil {
			return nil, err
		}
		j.cursors[name] = c
	}
	if !c.active.CompareAndSwap(false, true) {
		return nil, fmt.Errorf("consume %q: %w", name, ErrCursorBusy)
	}
	return c, nil
}

// saveCursor stores the cursor's position durably if it moved (or if force).
func (j *Journal) saveCursor(c *cursor, force bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	pos := c.pos.Load()
	if !force && pos == c.saved.Load() {
		return nil
	}
	if c.beforeSave != nil {
		if err := c.beforeSave(context.Background()); err != nil {
			return fmt.Errorf("save cursor %q: %w", c.name, err)
		}
	}
	var b [cursorFileLen]byte
	binary.LittleEndian.PutUint64(b[:8], pos)
	binary.LittleEndian.PutUint32(b[8:], crc32.Checksum(b[:8], castagnoli))
	if err := writeFileDurable(c.path, b[:], !j.opts.NoSync); err != nil {
		return fmt.Errorf("save cursor %q: %w", c.name, err)
	}
	c.saved.Store(pos)
	return nil
}

// writeFileDurable replaces path with data: temporary file, fsync, rename,
// fsync of the directory.
func writeFileDurable(path string, data []byte, sync bool) error {
	tmp := path + tmpExt
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, filePerm)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil && sync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	if sync {
		return syncDir(filepath.Dir(path))
	}
	return nil
}

// Cursor returns the last index consumer name has finished (0 = none).
func (j *Journal) Cursor(name string) uint64 {
	j.cursorMu.Lock()
	defer j.cursorMu.Unlock()
	if c := j.cursors[name]; c != nil {
		return c.pos.Load()
	}
	return 0
}

// DropCursor forgets a consumer that is gone for good, so that it no longer
// holds back front truncation. It fails while the consumer runs.
func (j *Journal) DropCursor(name string) error {
	j.cursorMu.Lock()
	defer j.cursorMu.Unlock()
	c := j.cursors[name]
	if c == nil {
		return nil
	}
	if !c.active.CompareAndSwap(false, true) {
		return fmt.Errorf("drop cursor %q: %w", name, ErrCursorBusy)
	}
	if err := os.Remove(c.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		c.active.Store(false)
		return fmt.Errorf("drop cursor %q: %w", name, err)
	}
	delete(j.cursors, name)
	return nil
}

// truncate removes whole segments that lie more than Retain entries behind
// the lowest stored cursor. It runs on the writer goroutine, which owns the
// log's files.
func (j *Journal) truncate() error {
	j.cursorMu.Lock()
	defer j.cursorMu.Unlock()
	target := j.truncateTargetLocked()
	if target == 0 {
		return nil
	}
	// Whole segment files go; the tail is never among them.
	if err := j.log.truncateFront(target); err != nil {
		return fmt.Errorf("truncate log before entry %d: %w", target, err)
	}
	if !j.opts.NoSync {
		if err := syncDir(j.logDir); err != nil {
			return err
		}
	}
	j.truncations.Add(1)
	return nil
}

// truncateTargetLocked returns the first index of the segment that should
// become the log's first, or 0 if nothing can go. The caller holds cursorMu,
// so no consumer registers meanwhile.
func (j *Journal) truncateTargetLocked() uint64 {
	if len(j.cursors) == 0 {
		return 0 // nobody has ever consumed: keep everything
	}
	low := uint64(math.MaxUint64)
	for _, c := range j.cursors {
		low = min(low, c.saved.Load())
	}
	retain := uint64(j.opts.Retain)
	if low <= retain {
		return 0
	}
	keep := low - retain + 1 // the first entry that must stay
	if target := j.log.startOf(keep); target > j.log.first() {
		return target
	}
	return 0
}
