package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestMain makes this test binary softnet itself when SOFTNET_TEST_MAIN
// is 1 (softnetCmd): the tests run the real command line, main and its
// exit codes included, as users run it.
func TestMain(m *testing.M) {
	if os.Getenv("SOFTNET_TEST_MAIN") == "1" {
		os.Args = append([]string{"softnet"}, strings.Fields(os.Getenv("SOFTNET_TEST_ARGS"))...)
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// softnetCmd is softnet run with args (split on spaces): this test binary
// re-executed, main run by TestMain.
func softnetCmd(args string) *exec.Cmd {
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "SOFTNET_TEST_MAIN=1", "SOFTNET_TEST_ARGS="+args)
	return cmd
}
