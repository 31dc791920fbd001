package journal

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

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

// finishInterrupted completes a front truncation that a crash interrupted
// in a log written by github.com/tidwall/wal, which journals of earlier
// releases used (same file names and framing): such a truncation leaves the
// new first segment as <name>.START while older segments still exist. It
// also removes stray temporary files.
func finishInterrupted(dir string) error {
	des, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("list segments: %w", err)
	}
	for _, de := range des {
		name := de.Name()
		switch {
		case strings.HasSuffix(name, ".TEMP"):
			if err := os.Remove(filepath.Join(dir, name)); err != nil {
				return fmt.Errorf("remove stray file: %w", err)
			}
		case strings.HasSuffix(name, ".START") && len(name) == 20+len(".START"):
			start, err := strconv.ParseUint(strings.TrimSuffix(name, ".START"), 10, 64)
			if err != nil {
				continue
			}
			starts, err := segmentStarts(dir)
			if err != nil {
				return err
			}
			for _, s := range starts {
				if s <= start { // the segment that starts at start is replaced below
					if err := os.Remove(filepath.Join(dir, segmentName(s))); err != nil {
						return fmt.Errorf("finish interrupted truncation: %w", err)
					}
				}
			}
			if err := os.Rename(filepath.Join(dir, name), filepath.Join(dir, segmentName(start))); err != nil {
				return fmt.Errorf("finish interrupted truncation: %w", err)
			}
		}
	}
	return nil
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
// is complete in the log's framing (uvarint size, then the bytes) and whose
// record checksum holds.
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
