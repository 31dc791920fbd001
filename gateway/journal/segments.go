package journal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"sync"
)

// segmentLog is the log on disk: numbered segment files, each a run of
// entries framed as a uvarint length and then the bytes. A segment file is
// named after the index of its first entry.
//
// The tail segment, the one written to, lives in a buffer allocated at its
// full size when it is created: entries are framed straight into it, written
// to the file from it and read from it, and it never moves once it holds an
// entry, so a reader's view of an entry stays valid however much is written
// after it. Older segments are read whole from their files on demand, and
// the last few are cached.
//
// One goroutine, the writer, calls add, flush and truncateFront; readers
// may call view, span, scan, first, last and startOf at any time; close comes
// last, after the writer has stopped.
type segmentLog struct {
	dir      string
	size     int  // target size of a segment file
	sync     bool // fsync a segment before moving on from it
	cacheMax int  // older segments kept in memory

	mu     sync.RWMutex
	segs   []*segment // in index order; the last is the tail. Guarded by mu.
	closed bool       // guarded by mu

	cacheMu sync.Mutex
	cached  []*segment // loaded older segments, least recently used first; guarded by cacheMu

	// Owned by the writer.
	file    *os.File   // the tail's file, open for appending
	buf     []byte     // the tail's bytes: readers see buf[:len(tail.data)]
	offs    []uint32   // the tail's frame offsets: readers see offs[:len(tail.offs)]
	synced  int        // bytes of buf already written to file
	created bool       // a segment file was created since the last flush
	retired []*os.File // files of tails moved on from since the last flush
}

// segment is one file of the log. For the tail, data and offs are guarded
// by segmentLog.mu; for an older segment, by segmentLog.cacheMu, and nil
// while it is not loaded.
type segment struct {
	start uint64
	data  []byte
	offs  []uint32 // offs[k] is where entry start+k's frame begins; the last is len(data)
	gone  bool     // removed by a front truncation; guarded by segmentLog.cacheMu
}

// segView is a reader's snapshot of one segment.
type segView struct {
	start uint64
	data  []byte
	offs  []uint32
}

// count is the number of entries in the view.
func (v segView) count() uint64 { return uint64(len(v.offs) - 1) }

// entry returns the bytes of entry i, which the view must hold.
func (v segView) entry(i uint64) []byte {
	k := i - v.start
	frame := v.data[v.offs[k]:v.offs[k+1]]
	_, n := binary.Uvarint(frame)
	return frame[n:len(frame):len(frame)]
}

// segmentName is the file name of the segment starting at index.
func segmentName(index uint64) string {
	return fmt.Sprintf("%020d", index)
}

// openSegmentLog opens the log in dir, creating its first segment if there
// is none. The tail must end with a complete frame (see repairTail).
func openSegmentLog(dir string, size, cacheMax int, sync bool) (*segmentLog, error) {
	l := &segmentLog{dir: dir, size: size, sync: sync, cacheMax: cacheMax}
	starts, err := segmentStarts(dir)
	if err != nil {
		return nil, err
	}
	if len(starts) == 0 {
		f, err := os.OpenFile(filepath.Join(dir, segmentName(1)), os.O_CREATE|os.O_EXCL|os.O_WRONLY|os.O_APPEND, filePerm)
		if err != nil {
			return nil, fmt.Errorf("create first segment: %w", err)
		}
		l.file, l.created = f, true
		l.segs = []*segment{{start: 1}}
		l.buf, l.offs = make([]byte, 0, size), []uint32{0}
		l.segs[0].data, l.segs[0].offs = l.buf, l.offs
		return l, nil
	}
	for _, s := range starts {
		l.segs = append(l.segs, &segment{start: s})
	}
	tail := l.segs[len(l.segs)-1]
	path := filepath.Join(dir, segmentName(tail.start))
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read tail segment: %w", err)
	}
	offs, complete := frameOffsets(data)
	if !complete {
		return nil, fmt.Errorf("read tail segment %s: torn frame at byte %d: %w", segmentName(tail.start), offs[len(offs)-1], ErrCorrupt)
	}
	l.buf = append(make([]byte, 0, max(size, len(data))), data...)
	l.offs, l.synced = offs, len(data)
	tail.data, tail.offs = l.buf, l.offs
	if l.file, err = os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0); err != nil {
		return nil, fmt.Errorf("open tail segment: %w", err)
	}
	return l, nil
}

// frameOffsets returns where each complete frame in data starts, then where
// the last one ends; complete is false if bytes remain after it.
func frameOffsets(data []byte) (offs []uint32, complete bool) {
	offs = make([]uint32, 1, 1024)
	pos := 0
	for pos < len(data) {
		size, n := binary.Uvarint(data[pos:])
		if n <= 0 || size > uint64(len(data)-pos-n) {
			return offs, false
		}
		pos += n + int(size)
		offs = append(offs, uint32(pos))
	}
	return offs, true
}

// first returns the index of the first entry in the log.
func (l *segmentLog) first() uint64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if len(l.segs) == 0 {
		return 0
	}
	return l.segs[0].start
}

// last returns the index of the last entry written (not necessarily synced),
// first()-1 if the log is empty.
func (l *segmentLog) last() uint64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if len(l.segs) == 0 {
		return 0
	}
	t := l.segs[len(l.segs)-1]
	return t.start + uint64(len(t.offs)-1) - 1
}

// startOf returns the first index of the segment that holds entry i, or
// would: the last one starting at or before i. It is 0 if i is before the
// first entry.
func (l *segmentLog) startOf(i uint64) uint64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	k := sort.Search(len(l.segs), func(k int) bool { return l.segs[k].start > i }) - 1
	if k < 0 {
		return 0
	}
	return l.segs[k].start
}

// view returns a snapshot of the segment that should hold entry i. It fails
// with ErrTruncated for an entry before the first and ErrClosed after close.
func (l *segmentLog) view(i uint64) (segView, error) {
	l.mu.RLock()
	if l.closed {
		l.mu.RUnlock()
		return segView{}, ErrClosed
	}
	k := sort.Search(len(l.segs), func(k int) bool { return l.segs[k].start > i }) - 1
	if k < 0 {
		l.mu.RUnlock()
		return segView{}, ErrTruncated
	}
	s := l.segs[k]
	if k == len(l.segs)-1 {
		v := segView{start: s.start, data: s.data, offs: s.offs}
		l.mu.RUnlock()
		return v, nil
	}
	l.mu.RUnlock()
	v, err := l.load(s)
	if errors.Is(err, os.ErrNotExist) && i < l.first() {
		return segView{}, ErrTruncated // removed by a truncation meanwhile
	}
	return v, err
}

// span returns the view of the segment holding entry i and one past the
// last of its entries up to to. An entry missing from the segment that
// should hold it (damage) gives a *CorruptError.
func (l *segmentLog) span(i, to uint64) (segView, uint64, error) {
	v, err := l.view(i)
	if err != nil {
		return v, 0, err
	}
	end := v.start + v.count()
	if i >= end {
		return v, 0, &CorruptError{Index: i, Err: fmt.Errorf("segment %s ends before it: %w", segmentName(v.start), ErrCorrupt)}
	}
	return v, min(end, to+1), nil
}

// scan calls fn with each entry from from to to, in order, and stops at the
// first error, fn's or span's.
func (l *segmentLog) scan(from, to uint64, fn func(i uint64, data []byte) error) error {
	for i := from; i <= to; {
		v, stop, err := l.span(i, to)
		if err != nil {
			return err
		}
		for ; i < stop; i++ {
			if err := fn(i, v.entry(i)); err != nil {
				return err
			}
		}
	}
	return nil
}

// load returns a view of an older segment, reading its file if it is not
// cached. The file is read without cacheMu held, so that a lagging reader's
// disk read never holds up the writer moving to a new segment.
func (l *segmentLog) load(s *segment) (segView, error) {
	l.cacheMu.Lock()
	if s.offs != nil {
		l.cacheLocked(s)
		v := segView{start: s.start, data: s.data, offs: s.offs}
		l.cacheMu.Unlock()
		return v, nil
	}
	l.cacheMu.Unlock()

	data, err := os.ReadFile(filepath.Join(l.dir, segmentName(s.start)))
	if err != nil {
		return segView{}, fmt.Errorf("read segment %s: %w", segmentName(s.start), err)
	}
	offs, _ := frameOffsets(data) // a torn frame shows up as missing entries
	v := segView{start: s.start, data: data, offs: offs}

	l.cacheMu.Lock()
	defer l.cacheMu.Unlock()
	if s.gone {
		return v, nil // truncated meanwhile: serve this read, cache nothing
	}
	if s.offs == nil { // else another reader loaded it meanwhile: keep one copy
		s.data, s.offs = data, offs
	}
	l.cacheLocked(s)
	return segView{start: s.start, data: s.data, offs: s.offs}, nil
}

// cacheLocked marks s as the most recently used loaded segment and unloads
// the least recently used beyond cacheMax. Readers keep their views: an
// unloaded segment's memory is freed once no view holds it.
func (l *segmentLog) cacheLocked(s *segment) {
	if k := slices.Index(l.cached, s); k >= 0 {
		l.cached = slices.Delete(l.cached, k, k+1)
	}
	l.cached = append(l.cached, s)
	for len(l.cached) > l.cacheMax {
		old := l.cached[0]
		old.data, old.offs = nil, nil
		l.cached = slices.Delete(l.cached, 0, 1)
	}
}

// add frames one entry, the one with the given index, into the tail. When
// the entry does not fit in what is left of the segment, the tail is first
// written, fsynced and left for a new segment that starts at index. The
// entry reaches the file and the readers at the next flush.
func (l *segmentLog) add(index uint64, data []byte) error {
	n := uvarintLen(uint64(len(data))) + len(data)
	if len(l.offs) > 1 && len(l.buf)+n > l.size {
		if err := l.cycle(index, n); err != nil {
			return err
		}
	}
	l.buf = binary.AppendUvarint(l.buf, uint64(len(data)))
	l.buf = append(l.buf, data...)
	l.offs = append(l.offs, uint32(len(l.buf)))
	return nil
}

// cycle finishes the tail and starts a new segment at index, whose buffer
// holds at least need bytes.
func (l *segmentLog) cycle(index uint64, need int) error {
	if err := l.write(); err != nil {
		return err
	}
	if l.sync {
		// Only the tail may ever be torn: a crash can then cost no more
		// than the entries not yet acknowledged.
		if err := l.file.Sync(); err != nil {
			return fmt.Errorf("sync segment before entry %d: %w", index, err)
		}
		if l.created {
			// The tail was created in this group: its directory entry
			// must last before the next segment's can.
			if err := syncDir(l.dir); err != nil {
				return err
			}
		}
	}
	f, err := os.OpenFile(filepath.Join(l.dir, segmentName(index)), os.O_CREATE|os.O_TRUNC|os.O_WRONLY|os.O_APPEND, filePerm)
	if err != nil {
		return fmt.Errorf("create segment %s: %w", segmentName(index), err)
	}
	l.retired = append(l.retired, l.file)
	l.file, l.created, l.synced = f, true, 0
	l.buf, l.offs = make([]byte, 0, max(l.size, need)), make([]uint32, 1, 1024)
	s := &segment{start: index, data: l.buf, offs: l.offs}

	l.mu.Lock()
	old := l.segs[len(l.segs)-1]
	l.segs = append(l.segs, s)
	l.mu.Unlock()
	// old's data and offs were published under mu by write; from here on
	// cacheMu guards them.
	l.cacheMu.Lock()
	l.cacheLocked(old) // it was just read from, most likely
	l.cacheMu.Unlock()
	return nil
}

// flushed is what a flush leaves for the syncer.
type flushed struct {
	file    *os.File   // the tail's file: fsync it
	created bool       // a segment file was created: fsync the directory
	retired []*os.File // earlier tails' files, already fsynced: close them
}

// flush writes the entries added since the last flush to the tail's file,
// shows them to readers and hands over what the syncer must fsync and
// close.
func (l *segmentLog) flush() (flushed, error) {
	if err := l.write(); err != nil {
		return flushed{}, err
	}
	f := flushed{file: l.file, created: l.created, retired: l.retired}
	l.created, l.retired = false, nil
	return f, nil
}

// write writes the entries added since the last write to the tail's file
// and shows them to readers.
func (l *segmentLog) write() error {
	if l.synced < len(l.buf) {
		if _, err := l.file.Write(l.buf[l.synced:]); err != nil {
			return fmt.Errorf("write segment: %w", err)
		}
		l.synced = len(l.buf)
	}
	l.mu.Lock()
	t := l.segs[len(l.segs)-1]
	t.data, t.offs = l.buf, l.offs
	l.mu.Unlock()
	return nil
}

// truncateFront removes the segments before the one that starts at start,
// oldest first. Removals are not ordered on disk until the directory is
// fsynced: a crash meanwhile may leave a gap among the removed segments,
// all behind every stored cursor, that the next truncation removes.
func (l *segmentLog) truncateFront(start uint64) error {
	l.mu.Lock()
	k := slices.IndexFunc(l.segs, func(s *segment) bool { return s.start == start })
	if k < 0 {
		l.mu.Unlock()
		return fmt.Errorf("truncate log: no segment starts at entry %d", start)
	}
	gone := l.segs[:k]
	l.segs = slices.Clone(l.segs[k:])
	l.mu.Unlock()

	l.cacheMu.Lock()
	for _, s := range gone {
		if i := slices.Index(l.cached, s); i >= 0 {
			l.cached = slices.Delete(l.cached, i, i+1)
		}
		s.data, s.offs, s.gone = nil, nil, true
	}
	l.cacheMu.Unlock()
	for _, s := range gone {
		if err := os.Remove(filepath.Join(l.dir, segmentName(s.start))); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("truncate log: %w", err)
		}
	}
	return nil
}

// close closes the tail's file; later views fail with ErrClosed.
func (l *segmentLog) close() error {
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
	var errs []error
	for _, f := range append(l.retired, l.file) {
		if err := f.Close(); err != nil && !errors.Is(err, os.ErrClosed) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
