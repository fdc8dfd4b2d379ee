package main

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"

	"go.etcd.io/etcd/raft"
	"go.etcd.io/etcd/raft/raftpb"
)

// A small write-ahead log: what raft asks to persist (snapshots, entries,
// hard state) as records of [type u8][length u32][crc32 u32][data], in the
// order they were applied to the MemoryStorage, so that replaying them into a
// new MemoryStorage rebuilds it. A torn last record (a crash mid-write) is
// ignored. When the log is compacted the file is rewritten from the snapshot.
//
// Why a WAL and not an empty restart: raft's safety rests on a node never
// forgetting its term, its vote and the entries it acknowledged. A node that
// comes back empty under the same id can vote twice in a term, or drop an
// entry a majority (counting it) committed. Restarting empty is only correct
// as a new member (remove the old id, add a new one by ConfChange); keeping
// the id needs stable storage, which is what this file is.
type wal struct {
	path  string
	f     *os.File
	w     *bufio.Writer
	fsync bool
}

const (
	recSnapshot  byte = 1
	recHardState byte = 2
	recEntry     byte = 3
)

type walState struct {
	snapshot raftpb.Snapshot
	hard     raftpb.HardState
	found    bool
}

// openWAL replays dir/raft.wal into storage (when it exists) and opens it for appending.
func openWAL(dir string, storage *raft.MemoryStorage, fsync bool) (*wal, walState, error) {
	var st walState
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, st, err
	}
	path := filepath.Join(dir, "raft.wal")
	valid, err := replay(path, storage, &st)
	if err != nil {
		return nil, st, err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, st, err
	}
	// cut a torn tail before appending after it
	if err := f.Truncate(valid); err != nil {
		return nil, st, err
	}
	if _, err := f.Seek(valid, io.SeekStart); err != nil {
		return nil, st, err
	}
	return &wal{path: path, f: f, w: bufio.NewWriterSize(f, 256<<10), fsync: fsync}, st, nil
}

func replay(path string, storage *raft.MemoryStorage, st *walState) (int64, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	defer f.Close()
	r := bufio.NewReader(f)
	var valid int64
	var header [9]byte
	for {
		if _, err := io.ReadFull(r, header[:]); err != nil {
			return valid, nil
		}
		n := binary.BigEndian.Uint32(header[1:5])
		data := make([]byte, n)
		if _, err := io.ReadFull(r, data); err != nil || crc32.ChecksumIEEE(data) != binary.BigEndian.Uint32(header[5:9]) {
			return valid, nil
		}
		switch header[0] {
		case recSnapshot:
			var s raftpb.Snapshot
			if err := s.Unmarshal(data); err != nil {
				return 0, fmt.Errorf("%s: snapshot record: %w", path, err)
			}
			if err := storage.ApplySnapshot(s); err != nil && err != raft.ErrSnapOutOfDate {
				return 0, err
			}
			st.snapshot = s
		case recHardState:
			if err := st.hard.Unmarshal(data); err != nil {
				return 0, fmt.Errorf("%s: hard state record: %w", path, err)
			}
			if err := storage.SetHardState(st.hard); err != nil {
				return 0, err
			}
		case recEntry:
			var e raftpb.Entry
			if err := e.Unmarshal(data); err != nil {
				return 0, fmt.Errorf("%s: entry record: %w", path, err)
			}
			if err := storage.Append([]raftpb.Entry{e}); err != nil {
				return 0, err
			}
		default:
			return 0, fmt.Errorf("%s: unknown record type %d", path, header[0])
		}
		st.found = true
		valid += int64(len(header)) + int64(n)
	}
}

type marshaler interface{ Marshal() ([]byte, error) }

func (l *wal) record(t byte, m marshaler) error {
	data, err := m.Marshal()
	if err != nil {
		return err
	}
	var header [9]byte
	header[0] = t
	binary.BigEndian.PutUint32(header[1:5], uint32(len(data)))
	binary.BigEndian.PutUint32(header[5:9], crc32.ChecksumIEEE(data))
	if _, err := l.w.Write(header[:]); err != nil {
		return err
	}
	_, err = l.w.Write(data)
	return err
}

// save persists one Ready's snapshot, entries and hard state (in that order).
func (l *wal) save(snap raftpb.Snapshot, entries []raftpb.Entry, hard raftpb.HardState) error {
	if !raft.IsEmptySnap(snap) {
		if err := l.record(recSnapshot, &snap); err != nil {
			return err
		}
	}
	for i := range entries {
		if err := l.record(recEntry, &entries[i]); err != nil {
			return err
		}
	}
	if !raft.IsEmptyHardState(hard) {
		if err := l.record(recHardState, &hard); err != nil {
			return err
		}
	}
	return l.sync()
}

func (l *wal) sync() error {
	if err := l.w.Flush(); err != nil {
		return err
	}
	if l.fsync {
		return l.f.Sync()
	}
	return nil
}

// rewrite replaces the file with a snapshot, the hard state and the entries after the snapshot.
func (l *wal) rewrite(snap raftpb.Snapshot, hard raftpb.HardState, entries []raftpb.Entry) error {
	tmp := l.path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	next := &wal{path: l.path, f: f, w: bufio.NewWriterSize(f, 256<<10), fsync: l.fsync}
	if err := next.record(recSnapshot, &snap); err != nil {
		return err
	}
	for i := range entries {
		if err := next.record(recEntry, &entries[i]); err != nil {
			return err
		}
	}
	if !raft.IsEmptyHardState(hard) {
		if err := next.record(recHardState, &hard); err != nil {
			return err
		}
	}
	if err := next.sync(); err != nil {
		return err
	}
	if err := os.Rename(tmp, l.path); err != nil {
		return err
	}
	l.f.Close()
	*l = *next
	return nil
}

func (l *wal) close() error {
	if err := l.w.Flush(); err != nil {
		return err
	}
	return l.f.Close()
}
