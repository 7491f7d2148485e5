// Package client is the phone side of Baoshui's sync protocol
// (mobile-sync/PROTOCOL.md): a Go SDK that keeps every change an officer
// makes in a durable on-device outbox and sends it when the network allows.
//
// The outbox is one bbolt file. Capturing a record is one bbolt transaction
// that gives it the device's next seq (1, 2, 3…), so capture needs no
// network and the order of a device's changes is fixed on the phone. Sync
// then sends the outbox in seq order, uploads the photos (blobs) and track
// chunks that wait, and pulls what changed on the server.
//
// A mutation leaves the outbox only once the server's answer for it has been
// stored in the same transaction that removes it; a crash at any point makes
// the next Sync send the same push again, and the server's ledger answers
// what it already applied. Rejected and conflicting mutations are kept aside
// with the server's problem or current copy, for the officer to correct.
//
// The package may import geo and mobilesync, never anything under server/.
// A Client is safe for concurrent use; one Sync runs at a time.
package client
