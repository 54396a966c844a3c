package dp

import (
	"strconv"
	"strings"
)

// CPUList formats CPUs in increasing order as the kernel's cpulist does
// ("0-3,6"); "none" for no CPU.
func CPUList(cpus []int) string {
	var b strings.Builder
	for i := 0; i < len(cpus); {
		j := i
		for j+1 < len(cpus) && cpus[j+1] == cpus[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(cpus[i]))
		if j > i {
			b.WriteByte('-')
			b.WriteString(strconv.Itoa(cpus[j]))
		}
		i = j + 1
	}
	if b.Len() == 0 {
		return "none"
	}
	return b.String()
}

// keepPasses bounds KeepOnCPUs' and ReleaseCPUs' passes over the threads
// (tests lower it).
var keepPasses = 10
