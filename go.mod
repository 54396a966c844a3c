module github.com/softnet/softnet

go 1.26
