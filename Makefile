# Convenience targets; the README's two commands work without make.
.PHONY: bench test build lab
build:
	CGO_ENABLED=0 go build -o softnet ./cmd/softnet
bench:
	go run ./cmd/softnet bench
test:
	bash scripts/test.sh
lab:
	bash scripts/lab.sh
