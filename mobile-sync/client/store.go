package client

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// The outbox's buckets.
var (
	bMeta      = []byte("meta")     // settings, session, counters, cursor, limits
	bOutbox    = []byte("outbox")   // seq (8 bytes, big-endian) → entry
	bBlobs     = []byte("blobs")    // sha256 hex → blobEntry
	bChunks    = []byte("chunks")   // patrol id, 0, chunk seq (8 bytes) → chunkEntry
	bChunkSeq  = []byte("chunkseq") // patrol id → next chunk seq (8 bytes)
	bAside     = []byte("aside")    // aside id (8 bytes) → Aside
	bRecords   = []byte("records")  // record id → the record as pulled (JSON)
	bRevs      = []byte("revs")     // record id → latest revision known (8 bytes)
	allBuckets = [][]byte{bMeta, bOutbox, bBlobs, bChunks, bChunkSeq, bAside, bRecords, bRevs}
)

// Keys of the meta bucket.
const (
	mFormat          = "format"
	mDeviceID        = "device_id"
	mNextSeq         = "next_seq"
	mNextAside       = "next_aside"
	mServer          = "server"
	mAccessToken     = "access_token"
	mRefreshToken    = "refresh_token"
	mSession         = "session"
	mRegistered      = "registered"
	mCursor          = "pull_cursor"
	mLimits          = "limits"
	mUnits           = "units"
	mZonesGeneration = "zones_generation"
	mLastSync        = "last_sync"
	mLastPull        = "last_pull"
	mClock           = "clock"
)

// outboxFormat is the layout version of the outbox file.
const outboxFormat = 1

func u64(n int64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, uint64(n))
	return b
}

func fromU64(b []byte) int64 {
	if len(b) != 8 {
		return 0
	}
	return int64(binary.BigEndian.Uint64(b))
}

func chunkKey(patrolID string, chunkSeq int64) []byte {
	k := make([]byte, 0, len(patrolID)+9)
	k = append(k, patrolID...)
	k = append(k, 0)
	return append(k, u64(chunkSeq)...)
}

// getInt reads an integer meta key; absent reads as 0.
func getInt(tx *bolt.Tx, key string) int64 { return fromU64(tx.Bucket(bMeta).Get([]byte(key))) }

func putInt(tx *bolt.Tx, key string, n int64) error { return tx.Bucket(bMeta).Put([]byte(key), u64(n)) }

func getString(tx *bolt.Tx, key string) string { return string(tx.Bucket(bMeta).Get([]byte(key))) }

func putString(tx *bolt.Tx, key, v string) error {
	if v == "" {
		return tx.Bucket(bMeta).Delete([]byte(key))
	}
	return tx.Bucket(bMeta).Put([]byte(key), []byte(v))
}

// getJSON decodes a JSON value kept in bucket b under key; absent leaves v
// untouched and reports false.
func getJSON(tx *bolt.Tx, b []byte, key []byte, v any) (bool, error) {
	data := tx.Bucket(b).Get(key)
	if data == nil {
		return false, nil
	}
	if err := json.Unmarshal(data, v); err != nil {
		return false, fmt.Errorf("outbox %s/%q is corrupt: %w", b, key, err)
	}
	return true, nil
}

func putJSON(tx *bolt.Tx, b []byte, key []byte, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return tx.Bucket(b).Put(key, data)
}

func getTime(tx *bolt.Tx, key string) time.Time {
	var t time.Time
	_ = t.UnmarshalText(tx.Bucket(bMeta).Get([]byte(key)))
	return t
}

func putTime(tx *bolt.Tx, key string, t time.Time) error {
	b, err := t.UTC().MarshalText()
	if err != nil {
		return err
	}
	return tx.Bucket(bMeta).Put([]byte(key), b)
}

// nextAsideID takes the next id of the aside bucket.
func nextAsideID(tx *bolt.Tx) (int64, error) {
	id := getInt(tx, mNextAside) + 1
	return id, putInt(tx, mNextAside, id)
}

// setRev remembers rev as the latest revision of record id known here,
// unless a later one is known already.
func setRev(tx *bolt.Tx, id string, rev int64) error {
	if id == "" || rev <= 0 {
		return nil
	}
	b := tx.Bucket(bRevs)
	if fromU64(b.Get([]byte(id))) >= rev {
		return nil
	}
	return b.Put([]byte(id), u64(rev))
}
