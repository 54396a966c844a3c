//go:build !linux

package hugepage

func advise([]byte) {}

func alloc(int) []byte { return nil }

func allocMapping(int) ([]byte, []byte) { return nil, nil }

func unmap([]byte) {}
