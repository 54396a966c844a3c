package hdr

// Status is the result of a validation. It is a drop reason, not an error:
// a small enum meant to index per-worker counters.
type Status uint8

// Validation results. The order is part of the API (counters are indexed by
// Status); add new values at the end, before NumStatus.
const (
	OK                Status = iota
	TooShort                 // slice shorter than the header (or than a length field says)
	BadVersion               // IP version field does not match the view
	BadIHL                   // IPv4 IHL < 5 or header longer than the packet
	BadTotalLen              // IPv4 total length < header length or > bytes present
	BadChecksum              // header checksum does not verify
	BadPayloadLen            // IPv6 payload length > bytes present
	BadARP                   // ARP htype/ptype/hlen/plen/op not Ethernet/IPv4 request or reply
	TooManyTags              // more VLAN tags than allowed
	TooManyExtHeaders        // more IPv6 extension headers than MaxExtHeaders
	BadExtHeader             // an IPv6 extension header runs past the packet, or is misplaced
	BadDataOffset            // TCP data offset < 5 or past the segment
	BadLength                // UDP length field < 8 or > bytes present

	// NumStatus is the number of Status values, for sizing counter arrays.
	NumStatus
)

var statusNames = [NumStatus]string{
	OK:                "ok",
	TooShort:          "too-short",
	BadVersion:        "bad-version",
	BadIHL:            "bad-ihl",
	BadTotalLen:       "bad-total-len",
	BadChecksum:       "bad-checksum",
	BadPayloadLen:     "bad-payload-len",
	BadARP:            "bad-arp",
	TooManyTags:       "too-many-tags",
	TooManyExtHeaders: "too-many-ext-headers",
	BadExtHeader:      "bad-ext-header",
	BadDataOffset:     "bad-data-offset",
	BadLength:         "bad-length",
}

// String returns the stable kebab-case name of s, used in metrics and the
// CLI. It does not allocate.
func (s Status) String() string {
	if s < NumStatus {
		return statusNames[s]
	}
	return "unknown-status"
}
