package rss

// TableSize is the number of entries in a redirection table, as on most
// NICs (Intel 82599, Mellanox ConnectX): the low 7 bits of the hash pick an
// entry.
const TableSize = 128

// Table maps a hash to a queue like a NIC's redirection (indirection)
// table: hash & 127 selects an entry, the entry names the queue. The
// indirection lets the control plane re-balance queues by rewriting
// entries without changing the hash. A Table is a value of 128 bytes: the
// control plane builds a new one and publishes it with the rest of a
// snapshot; workers only read it.
type Table struct {
	e [TableSize]uint8
}

// NewTable returns the table with entry i set to queue i % n, which spreads
// hashes evenly over n queues when n divides 128 (and within one entry
// otherwise). n < 1 is taken as 1; queues above 255 cannot be named, so n
// is capped at 128, the number of entries.
func NewTable(n int) Table {
	n = max(1, min(n, TableSize))
	var t Table
	for i := range t.e {
		t.e[i] = uint8(i % n)
	}
	return t
}

// Queue returns the queue for hash.
func (t *Table) Queue(hash uint32) int { return int(t.e[hash&(TableSize-1)]) }

// Entry returns the queue of entry i (0 <= i < TableSize).
func (t *Table) Entry(i int) int { return int(t.e[i]) }

// Set points entry i (0 <= i < TableSize) at queue q (0 <= q < 256), for
// re-balancing: move entries from a busy queue to an idle one.
func (t *Table) Set(i, q int) { t.e[i] = uint8(q) }
