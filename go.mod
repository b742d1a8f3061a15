module github.com/loopback-dev/loopback

go 1.26.8

require (
	github.com/HdrHistogram/hdrhistogram-go v1.4.0
	github.com/caarlos0/env/v10 v10.0.0
	github.com/mattn/go-isatty v0.0.20
	github.com/rs/zerolog v1.35.1
	go.uber.org/goleak v1.3.0
	golang.org/x/sys v0.50.0
)

require github.com/mattn/go-colorable v0.1.14 // indirect
