package journal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/tidwall/wal"
)

// segmentName is tidwall/wal's file name for the segment starting at index.
func segmentName(index uint64) string {
	return fmt.Sprintf("%020d", index)
}

// segmentStarts lists the first index of every segment file in dir, in order.
func segmentStarts(dir string) ([]uint64, error) {
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("list segments: %w", err)
	}
	var starts []uint64
	for _, de := range des {
		name := de.Name()
		if de.IsDir() || len(name) != 20 {
			continue
		}
		if i, err := strconv.ParseUint(name, 10, 64); err == nil && i > 0 {
			starts = append(starts, i)
		}
	}
	slices.Sort(starts)
	return starts, nil
}

// finishInterrupted completes a front or back truncation that a crash
// interrupted (tidwall/wal leaves *.START or *.END files and finishes them in
// its Open, before it reads the tail) and removes its stray temporary files.
func finishInterrupted(dir string) error {
	des, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("list segments: %w", err)
	}
	pending := false
	for _, de := range des {
		name := de.Name()
		switch {
		case strings.HasSuffix(name, ".TEMP"):
			if err := os.Remove(filepath.Join(dir, name)); err != nil {
				return fmt.Errorf("remove stray file: %w", err)
			}
		case strings.HasSuffix(name, ".START"), strings.HasSuffix(name, ".END"):
			pending = true
		}
	}
	if !pending {
		return nil
	}
	l, err := wal.Open(dir, &wal.Options{NoSync: true, AllowEmpty: true, DirPerms: dirPerm, FilePerms: filePerm})
	switch {
	case err == nil:
		return l.Close()
	case errors.Is(err, wal.ErrCorrupt):
		return nil // the clean-up is done; repairTail deals with the tail
	default:
		return fmt.Errorf("finish interrupted truncation: %w", err)
	}
}

// repairTail cuts the last segment file after its last complete entry whose
// record checksum holds. It returns how many bytes it cut.
func repairTail(dir string, sync bool) (int64, error) {
	starts, err := segmentStarts(dir)
	if err != nil || len(starts) == 0 {
		return 0, err
	}
	path := filepath.Join(dir, segmentName(starts[len(starts)-1]))
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("read tail segment: %w", err)
	}
	good := validPrefix(data)
	if good == len(data) {
		return 0, nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return 0, fmt.Errorf("repair tail segment: %w", err)
	}
	defer f.Close()
	if err := f.Truncate(int64(good)); err != nil {
		return 0, fmt.Errorf("repair tail segment: %w", err)
	}
	if sync {
		if err := f.Sync(); err != nil {
			return 0, fmt.Errorf("repair tail segment: %w", err)
		}
	}
	return int64(len(data) - good), f.Close()
}

// validPrefix returns the length of data up to the end of its last entry that
// is complete in tidwall/wal's framing (uvarint size, then the bytes) and
// whose record checksum holds.
func validPrefix(data []byte) int {
	pos, good := 0, 0
	for pos < len(data) {
		size, n := binary.Uvarint(data[pos:])
		if n <= 0 || size > uint64(len(data)-pos-n) {
			break // torn: the rest never made it to disk
		}
		end := pos + n + int(size)
		if _, _, _, err := decodeRecord(data[pos+n : end]); err == nil {
			good = end
		}
		pos = end
	}
	return good
}
