module github.com/softnet/softnet/bench/peers

go 1.26.0

require (
	github.com/softnet/softnet v0.0.0
	gvisor.dev/gvisor v0.0.0-20250205023644-9414b50a5633
)

require (
	github.com/google/btree v1.1.2 // indirect
	golang.org/x/sys v0.50.0 // indirect
	golang.org/x/time v0.7.0 // indirect
)

replace github.com/softnet/softnet => ../..
