//go:build !linux

package server

// emfileChild has nothing to do where the EMFILE test does not run.
func emfileChild(string) {}
